"""Static sparse training: a fixed mask drawn at initialisation.

* ``static`` -- random positions, per-layer densities from ``distribution``
  (``uniform``, ``er`` or ``erk``; RigL's ``sparse_utils``), exact counts
  ``round(d_l * n_l)`` per layer.
* ``snip`` -- Lee et al. (ICLR 2019): connection sensitivity ``|g * w|`` of the
  first training batch, global top-k (``scope: global``, as published) or per
  layer at the ``distribution``'s densities (``scope: layer``).  The scores are
  taken from the gradient of the first optimizer step (after ESPnet's
  unscaling/clipping, all-reduced under DDP), so the first forward/backward is
  dense and the first update already sparse.  Published variants score a
  re-initialised copy on a separate batch; we use the live model (our choice).

Defaults: ``static`` density 0.1 (RigL's 90 % sparsity), ``snip`` density
0.05 (RigL TF2 ``snip.gin``: one-shot 95 %).
"""

from typing import Any, Dict, List, Optional

import torch
from typeguard import typechecked

from msrs.sparse import topology
from msrs.sparse.abs_sparsity import AbsSparsity, _mix_seed
from msrs.sparse.distributions import DISTRIBUTIONS


class _FixedDensitySparsity(AbsSparsity):
    """Base of methods with a target density and layer distribution."""

    supported_phases = ("dense", "sparse")

    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
        density: float = 0.1,
        distribution: str = "uniform",
        erk_power: float = 1.0,
    ):
        if not 0.0 < density <= 1.0:
            raise ValueError(f"sparsity_conf density must be in (0, 1], got {density}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"sparsity_conf distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        super().__init__(
            phases=phases,
            include=include,
            exclude=exclude,
            module_types=module_types,
            seed=seed,
            report_depth=report_depth,
            add_penalty_to_loss=add_penalty_to_loss,
        )
        self.density = float(density)
        self.distribution = distribution
        self.erk_power = float(erk_power)

    def target_densities(self) -> List[float]:
        """Per-target densities prescribed by ``density`` and ``distribution``."""
        from msrs.sparse.distributions import layer_densities

        return layer_densities([t.shape for t in self.targets], self.density, self.distribution, self.erk_power)

    def random_topology(self) -> List[torch.Tensor]:
        g = torch.Generator()
        g.manual_seed(_mix_seed(self.seed, 0x5EED))
        return [
            topology.random_mask(t.shape, round(d * t.numel), g, t.original.device)
            for t, d in zip(self.targets, self.target_densities())
        ]


class StaticSparsity(_FixedDensitySparsity):
    """Random static mask (registry key ``static``)."""

    method_name = "static"

    @typechecked
    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
        density: float = 0.1,
        distribution: str = "uniform",
        erk_power: float = 1.0,
    ):
        super().__init__(
            phases=phases, include=include, exclude=exclude, module_types=module_types,
            seed=seed, report_depth=report_depth, add_penalty_to_loss=add_penalty_to_loss,
            density=density, distribution=distribution, erk_power=erk_power,
        )

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "sparse"}]

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return self.random_topology()


class SNIPSparsity(_FixedDensitySparsity):
    """SNIP (registry key ``snip``).

    Args (beyond ``static``'s):
        scope: ``global`` (one ranking over all targets, as published) or
            ``layer`` (per-layer counts from ``distribution``).
    """

    method_name = "snip"

    @typechecked
    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
        density: float = 0.05,
        distribution: str = "uniform",
        erk_power: float = 1.0,
        scope: str = "global",
    ):
        if scope not in ("global", "layer"):
            raise ValueError(f"sparsity_conf scope must be 'global' or 'layer', got {scope!r}")
        super().__init__(
            phases=phases, include=include, exclude=exclude, module_types=module_types,
            seed=seed, report_depth=report_depth, add_penalty_to_loss=add_penalty_to_loss,
            density=density, distribution=distribution, erk_power=erk_power,
        )
        self.scope = scope

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "sparse"}]

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return None  # needs the first step's gradients

    @torch.no_grad()
    def init_topology_from_grads(self) -> List[torch.Tensor]:
        scores = []
        for t in self.targets:
            w = t.original
            g = w.grad
            scores.append(torch.zeros_like(w, dtype=torch.float32) if g is None else (g.float() * w.float()).abs())
        if self.scope == "global":
            k = round(self.density * sum(s.numel() for s in scores))
            return topology.global_topk_masks(scores, k)
        return [topology.topk_mask(s, round(d * s.numel())) for s, d in zip(scores, self.target_densities())]

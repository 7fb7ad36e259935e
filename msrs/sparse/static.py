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

from msrs.sparse import topology
from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.distributions import DISTRIBUTIONS, layer_densities


class FixedDensitySparsity(AbsSparsity):
    """Base of the methods with a target ``density`` and a layer ``distribution``.

    Options (in addition to :class:`AbsSparsity`'s):
        density: global fraction of weights kept, in ``(0, 1]``.
        distribution: ``uniform``, ``er`` or ``erk`` (:mod:`msrs.sparse.distributions`).
        erk_power: exponent of the ER/ERK scores (RigL's ``erk_power_scale``).
    """

    supported_phases = ("dense", "sparse")
    options = {"density": 0.1, "distribution": "uniform", "erk_power": 1.0}

    def configure(self, opts: Dict[str, Any]) -> None:
        super().configure(opts)
        if not 0.0 < opts["density"] <= 1.0:
            raise ValueError(f"sparsity_conf density must be in (0, 1], got {opts['density']}")
        if opts["distribution"] not in DISTRIBUTIONS:
            raise ValueError(
                f"sparsity_conf distribution must be one of {DISTRIBUTIONS}, got {opts['distribution']!r}"
            )
        self.density = float(opts["density"])
        self.distribution = opts["distribution"]
        self.erk_power = float(opts["erk_power"])

    def layer_target_densities(self, density: float) -> List[float]:
        return layer_densities([t.shape for t in self.targets], density, self.distribution, self.erk_power)

    def target_densities(self) -> List[float]:
        """Per-target densities prescribed by ``density`` and ``distribution``."""
        return self.layer_target_densities(self.density)

    def random_topology(self) -> List[torch.Tensor]:
        g = torch.Generator()
        g.manual_seed(topology.mix_seed(self.seed, 0x5EED))
        return [
            topology.random_mask(t.shape, round(d * t.numel), g, t.original.device)
            for t, d in zip(self.targets, self.target_densities())
        ]


class StaticSparsity(FixedDensitySparsity):
    """Random static mask (registry key ``static``)."""

    method_name = "static"

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "sparse"}]

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return self.random_topology()


class SNIPSparsity(FixedDensitySparsity):
    """SNIP (registry key ``snip``).

    Options (beyond ``static``'s):
        scope: ``global`` (one ranking over all targets, as published) or
            ``layer`` (per-layer counts from ``distribution``).
    """

    method_name = "snip"
    options = {"density": 0.05, "scope": "global"}

    def configure(self, opts: Dict[str, Any]) -> None:
        super().configure(opts)
        if opts["scope"] not in ("global", "layer"):
            raise ValueError(f"sparsity_conf scope must be 'global' or 'layer', got {opts['scope']!r}")
        self.scope = opts["scope"]

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "sparse"}]

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return None  # needs the first step's gradients

    @torch.no_grad()
    def init_topology_from_grads(self) -> List[torch.Tensor]:
        scores = []
        for t in self.targets:
            w, g = t.original, t.original.grad
            scores.append(torch.zeros_like(w, dtype=torch.float32) if g is None else (g.float() * w.float()).abs())
        if self.scope == "global":
            return topology.global_topk_masks(scores, round(self.density * sum(s.numel() for s in scores)))
        return [topology.topk_mask(s, round(d * s.numel())) for s, d in zip(scores, self.target_densities())]

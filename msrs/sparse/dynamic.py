"""Dynamic sparse training: SET and RigL (``evolve`` phases).

Both start from a random mask at the configured density and ``distribution``
and keep every layer's number of active weights constant.  Every ``interval``
steps (or epochs) of an ``evolve`` phase, in each layer, the
``round(alpha_t * active)`` active weights of smallest magnitude are dropped
and as many previously inactive connections are grown, starting at 0 with
fresh optimizer state.  ``alpha_t`` is ``drop_fraction`` decayed over the
phase (``decay``).

* **SET** (Mocanu et al., 2018; registry key ``set``): regrowth at random
  positions (seeded by ``(seed, step, layer)``, identical on every DDP rank).
  Defaults: ER distribution, density 0.1, ``drop_fraction`` 0.3 constant,
  update at every epoch end, evolving until the end of epoch 56 (75 % of a
  75-epoch run, our choice), then ``sparse``.  SET drops the smallest
  positive and largest negative weights; we drop the smallest ``|w|`` (our
  simplification).
* **RigL** (Evci et al., 2020; registry key ``rigl``): regrowth where the
  dense gradient ``|dL/d(w*m)|`` of the update step is largest (captured by a
  tensor hook on that step only, summed over gradient accumulation and
  all-reduced across ranks).  Defaults: ERK, density 0.1, ``drop_fraction``
  0.3 with cosine decay, every 100 steps, until epoch 56 (75 % of training, as
  the PyTorch ports), then ``sparse``.  Updates are skipped when the gradient
  is not finite (AMP overflow).
"""

from typing import Any, Dict, List, Optional

import torch
from typeguard import typechecked

from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.static import _FixedDensitySparsity
from msrs.sparse.targets import Target


class _EvolveSparsity(_FixedDensitySparsity):
    supported_phases = ("dense", "evolve", "sparse")

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return self.random_topology()


class SETSparsity(_EvolveSparsity):
    """Sparse Evolutionary Training (registry key ``set``)."""

    method_name = "set"

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
        distribution: str = "er",
        erk_power: float = 1.0,
    ):
        super().__init__(
            phases=phases, include=include, exclude=exclude, module_types=module_types,
            seed=seed, report_depth=report_depth, add_penalty_to_loss=add_penalty_to_loss,
            density=density, distribution=distribution, erk_power=erk_power,
        )

    def phase_defaults(self) -> Dict[str, Dict[str, Any]]:
        return {"evolve": {"interval": 1, "interval_unit": "epoch", "decay": "constant"}}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "evolve", "end": 56}, {"name": "sparse"}]


class RigLSparsity(_EvolveSparsity):
    """Rigging the Lottery (registry key ``rigl``)."""

    method_name = "rigl"

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
        distribution: str = "erk",
        erk_power: float = 1.0,
    ):
        super().__init__(
            phases=phases, include=include, exclude=exclude, module_types=module_types,
            seed=seed, report_depth=report_depth, add_penalty_to_loss=add_penalty_to_loss,
            density=density, distribution=distribution, erk_power=erk_power,
        )
        for p in self.phase_list:
            if p.kind == "evolve" and p.options["interval_unit"] != "step":
                raise ValueError(
                    f"sparsity_conf.phases[{p.index}] (rigl): interval_unit must be 'step' "
                    "(the update needs the gradient of a known step)"
                )

    def phase_defaults(self) -> Dict[str, Dict[str, Any]]:
        return {"evolve": {"interval": 100, "interval_unit": "step", "decay": "cosine"}}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "evolve", "end": 56}, {"name": "sparse"}]

    @property
    def grows_by_gradient(self) -> bool:
        return True

    def grow_scores(self, target: Target, step: int, index: int) -> torch.Tensor:
        g = target.parametrization.dense_grad
        return g.abs() if g is not None else AbsSparsity.grow_scores(self, target, step, index)

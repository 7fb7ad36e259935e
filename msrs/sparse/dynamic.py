"""Dynamic sparse training: SET and RigL (``evolve`` phases).

Both start from a random mask at the configured density and ``distribution``
and keep every layer's number of active weights constant.  Every ``interval``
steps (or epochs) of an ``evolve`` phase (:mod:`msrs.sparse.phase_kinds.evolve`),
in each layer, the ``round(alpha_t * active)`` active weights of smallest
magnitude are dropped and as many connections not kept after the drop are
grown, starting at 0 with fresh optimizer state.  ``alpha_t`` is
``drop_fraction`` decayed over the phase (``decay``).

* **SET** (Mocanu et al., 2018; registry key ``set``): regrowth at random
  positions (seeded by ``(seed, step, layer)``, identical on every DDP rank).
  Defaults: ER distribution, density 0.1, ``drop_fraction`` 0.3 constant,
  update at every epoch end, evolving until the end of epoch 56 (75 % of a
  75-epoch run, our choice), then ``sparse``.  SET drops the fraction closest
  to zero among the positive and among the negative weights separately; we
  drop the smallest ``|w|`` (our simplification).
* **RigL** (Evci et al., 2020; registry key ``rigl``): regrowth where the
  dense gradient ``|dL/d(w*m)|`` of the update step is largest.  Defaults:
  ERK, density 0.1, ``drop_fraction`` 0.3 with cosine decay, every 100 steps,
  until epoch 56 (75 % of training, as the PyTorch ports), then ``sparse``.
  Updates are skipped when the gradient is not finite (AMP overflow).  RigL's
  reference code skips the optimizer step on update steps; we update the
  topology right after it (our choice: every step trains).
"""

from typing import Any, Dict, List, Optional

import torch

from msrs.sparse.static import FixedDensitySparsity
from msrs.sparse.targets import Target


class _EvolveSparsity(FixedDensitySparsity):
    supported_phases = ("dense", "evolve", "sparse")

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        return self.random_topology()


class SETSparsity(_EvolveSparsity):
    """Sparse Evolutionary Training (registry key ``set``)."""

    method_name = "set"
    options = {"distribution": "er"}

    def phase_defaults(self) -> Dict[str, Dict[str, Any]]:
        return {"evolve": {"interval": 1, "interval_unit": "epoch", "decay": "constant"}}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "evolve", "end": 56}, {"name": "sparse"}]


class RigLSparsity(_EvolveSparsity):
    """Rigging the Lottery (registry key ``rigl``)."""

    method_name = "rigl"
    options = {"distribution": "erk"}

    def check(self) -> None:
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
        return target.parametrization.dense_grad.abs().view(target.parametrization.mask.shape)

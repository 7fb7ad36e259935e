"""Gradual magnitude pruning (Zhu & Gupta, 2017).

A ``prune`` phase takes the density from ``initial_density`` to
``final_density`` (default: the method's ``density``) on the cubic schedule
``d(p) = d_f + (d_i - d_f) (1 - p)^3`` over the phase, updating every
``interval`` steps (or epochs) by keeping the largest ``|w|`` among the still
active weights (pruned weights stay pruned).  ``scope: layer`` (default)
prunes each layer to its density from ``distribution``; ``scope: global``
ranks all targets together.  The final density is enforced exactly when the
phase ends; the following ``sparse`` phase fine-tunes the fixed mask.

Defaults (our reconstruction from RigL's ``prune.gin``: begin 3000, end 7000 of
11,719 steps, frequency 100, final sparsity 0.95): dense until the end of
epoch 18, prune until epoch 45, sparse after; update every 100 steps; final
density 0.05.
"""

from typing import Any, Dict, List, Optional

from typeguard import typechecked

from msrs.sparse.static import _FixedDensitySparsity


class GMPSparsity(_FixedDensitySparsity):
    """Gradual magnitude pruning (registry key ``gmp``)."""

    method_name = "gmp"
    supported_phases = ("dense", "prune", "sparse")

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
    ):
        super().__init__(
            phases=phases, include=include, exclude=exclude, module_types=module_types,
            seed=seed, report_depth=report_depth, add_penalty_to_loss=add_penalty_to_loss,
            density=density, distribution=distribution, erk_power=erk_power,
        )

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [
            {"name": "dense", "end": 18},
            {"name": "prune", "end": 45, "interval": 100, "interval_unit": "step"},
            {"name": "sparse"},
        ]

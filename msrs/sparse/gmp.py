"""Gradual magnitude pruning (Zhu & Gupta, 2017).

The ``prune`` phase (:mod:`msrs.sparse.phase_kinds.prune`) takes the density
from ``initial_density`` to ``final_density`` (default: the method's
``density``) on a cubic schedule, keeping the largest ``|w|``; ``scope:
layer`` uses the method's ``distribution`` and ``erk_power``.

Defaults (our reconstruction from RigL's ``prune.gin``: begin 3000, end 7000 of
11,719 steps, frequency 100, final sparsity 0.95): dense until the end of
epoch 18, prune until epoch 45, sparse after; update every 100 steps; final
density 0.05.
"""

from typing import Any, Dict, List

from msrs.sparse.static import FixedDensitySparsity


class GMPSparsity(FixedDensitySparsity):
    """Gradual magnitude pruning (registry key ``gmp``)."""

    method_name = "gmp"
    supported_phases = ("dense", "prune", "sparse")
    options = {"density": 0.05}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [
            {"name": "dense", "end": 18},
            {"name": "prune", "end": 45, "interval": 100, "interval_unit": "step"},
            {"name": "sparse"},
        ]

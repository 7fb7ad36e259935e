"""``dense`` phases: the stored weight is the effective weight.

Entered from a masked phase with ``pruned_init: zero`` (default), pruned
weights restart from 0 with fresh optimizer state.  When no masked phase
follows, the scheduler releases the logits, their optimizer state and the mask
buffers (about 13 bytes per masked weight with AdamW, ~3 GB at 250 M
parameters; :meth:`msrs.sparse.abs_sparsity.AbsSparsity.release`).
"""

from typing import Optional

from msrs.sparse.phase_kinds.base import AbsPhaseKind
from msrs.sparse.phases import Phase


class DensePhase(AbsPhaseKind):
    name = "dense"

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        if previous is not None and previous.kind != "dense" and sp._s["has_mask"]:
            if phase.options.get("pruned_init", "zero") == "zero":
                for t in sp.targets:
                    sp._zero_pruned(t, t.parametrization.mask)

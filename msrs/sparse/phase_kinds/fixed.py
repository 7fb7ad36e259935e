"""``sparse`` phases: a fixed binary mask.

Entered without a mask (first phase, or after ``dense``), the method draws its
initial topology (:meth:`AbsSparsity.init_topology`); a method that needs
gradients (SNIP) defers it to the first optimizer step, which then runs
dense and makes the mask from that step's gradients before the update.
"""

from typing import Optional

from msrs.sparse.masks import DENSE, FIXED
from msrs.sparse.phase_kinds.base import FixedMaskKind, mask_gradients
from msrs.sparse.phases import Phase


def draw_initial_topology(sp, reason: str) -> None:
    """Install the method's initial topology, or mark it pending (first-step gradients)."""
    if sp._s["has_mask"]:
        return
    masks = sp.init_topology()
    if masks is None:
        sp._set("pending_init", 1)
        return
    sp._sync_tensors(masks)
    sp._install_masks(masks)
    sp.events.append(sp._event("init", reason=reason))


class SparsePhase(FixedMaskKind):
    name = "sparse"

    def mode(self, sp) -> int:
        return DENSE if sp._s["pending_init"] else FIXED

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        draw_initial_topology(sp, reason)

    def pre_step(self, sp, phase: Phase) -> None:
        if sp._s["pending_init"]:
            masks = sp.init_topology_from_grads()
            sp._sync_tensors(masks)
            sp._set("pending_init", 0)
            sp._install_masks(masks)
            for t in sp.targets:  # the first step ran dense: pruned weights start the fixed phase at 0
                sp._zero_pruned(t, t.parametrization.mask)
            sp._apply_modes()
            sp.events.append(sp._event("init", reason="first-step gradients"))
        mask_gradients(sp)

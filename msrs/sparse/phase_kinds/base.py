"""Abstract base of a phase kind, and the fixed-mask step work shared by masked kinds."""

from abc import ABC
from typing import Optional, Sequence

import torch

from msrs.sparse.masks import DENSE, FIXED
from msrs.sparse.phases import Phase


class AbsPhaseKind(ABC):
    """What a phase of one kind does.  Kinds are stateless: all state is on ``sp``.

    Every hook receives the sparsity object ``sp`` and the parsed ``phase``.
    ``on_step`` and ``on_epoch_end`` return a transition reason (the phase
    ends early, e.g. a frozen search) or ``None``.
    """

    name: str = "abstract"

    def mode(self, sp) -> int:
        """The mask mode (``DENSE``, ``SOFT``, ``FIXED``) of this phase for ``sp``."""
        return DENSE

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        """Set the phase up (masks, temperature, ...); modes are applied afterwards."""

    def leave(self, sp, phase: Phase, new: Phase, reason: str) -> None:
        """Finish the phase before ``new`` is entered."""

    def on_epoch_start(self, sp, phase: Phase) -> None:
        """Before each training epoch of the phase."""

    def pre_step(self, sp, phase: Phase) -> None:
        """Before each optimizer step: gradient work (``.grad`` is unscaled and clipped here)."""

    def on_step(self, sp, phase: Phase, done: int) -> Optional[str]:
        """After each optimizer step; ``done`` counts the phase's steps so far."""
        return None

    def on_epoch_end(self, sp, phase: Phase, n_in_phase: int) -> Optional[str]:
        """After each training epoch; ``n_in_phase`` counts the phase's epochs so far."""
        return None


class FixedMaskKind(AbsPhaseKind):
    """Base of the kinds that train a binary mask (``sparse``, ``prune``, ``evolve``).

    The forward uses the stored weight as is: pruned weights are exactly 0
    (zeroed with their optimizer state on entry and after loads) and their
    gradients are zeroed before every optimizer step, so an Adam/AdamW/SGD
    update leaves them at exactly 0 (zero gradient, zero moments, and weight
    decay of 0 is 0) -- no multiply in the forward and no re-zeroing pass
    after the step.  Every :data:`CHECK_EVERY` steps the invariant is checked
    (a foreign optimizer or ``--grad_noise`` applied after our hook could
    break it); a pruned weight found non-zero is re-zeroed with a warning.
    """

    def mode(self, sp) -> int:
        return FIXED

    def pre_step(self, sp, phase: Phase) -> None:
        mask_gradients(sp)

    def on_step(self, sp, phase: Phase, done: int) -> Optional[str]:
        if sp._s["global_step"] % CHECK_EVERY == 0:
            check_pruned_zero(sp)
        return None


class IntervalUpdateKind(FixedMaskKind):
    """A fixed-mask kind whose topology changes every ``interval`` steps or epochs (prune, evolve)."""

    def on_step(self, sp, phase: Phase, done: int) -> Optional[str]:
        super().on_step(sp, phase, done)
        if phase.options["interval_unit"] == "step" and due(done, phase.options["interval"]):
            self.update(sp, phase, sp._progress(phase))
        return None

    def on_epoch_end(self, sp, phase: Phase, n_in_phase: int) -> Optional[str]:
        if phase.options["interval_unit"] == "epoch" and due(n_in_phase, phase.options["interval"]):
            self.update(sp, phase, sp._progress(phase))
        return None

    def update(self, sp, phase: Phase, p: float) -> None:
        """Change the topology at progress ``p`` in ``[0, 1]`` of the phase."""
        raise NotImplementedError


#: steps between checks that pruned weights are still exactly 0
CHECK_EVERY = 100


@torch.no_grad()
def mask_gradients(sp) -> None:
    """``grad *= mask`` for every target (one ``_foreach`` call on cached float masks)."""
    pairs = [(t.original.grad, t.parametrization) for t in sp.targets if t.original.grad is not None]
    if pairs:
        torch._foreach_mul_([g for g, _ in pairs], [p.float_mask(g.dtype) for g, p in pairs])


@torch.no_grad()
def check_pruned_zero(sp) -> int:
    """Re-zero pruned weights that are not 0 (returns how many were found; warns if any)."""
    found = 0
    for t in sp.targets:
        w, m = t.original, t.parametrization.float_mask(t.original.dtype)
        n = int(torch.count_nonzero(w - w * m))
        if n:
            found += n
            sp._zero_pruned(t, t.parametrization.mask)
    if found:
        sp.log_warning("%d pruned weights were not 0 at step %d (an optimizer or hook outside msrs "
                       "changed them); re-zeroed", found, sp._s["global_step"])
    return found


def due(done: int, interval: int) -> bool:
    """Whether an update every ``interval`` units falls after ``done`` units."""
    return done > 0 and done % int(interval) == 0


def changed(old: Sequence[torch.Tensor], new: Sequence[torch.Tensor]) -> int:
    """Number of entries that differ between two lists of masks."""
    if not old:
        return 0
    return int(torch.stack([(a != b).sum() for a, b in zip(old, new)]).sum().item())

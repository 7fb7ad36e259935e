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


def _grads_and_masks(sp):
    pairs = [(t.original.grad, t.parametrization) for t in sp.targets if t.original.grad is not None]
    return [g for g, _ in pairs], [p.float_mask(g.dtype) for g, p in pairs]


class FixedMaskKind(AbsPhaseKind):
    """Base of the kinds that train a binary mask (``sparse``, ``prune``, ``evolve``).

    The forward uses the stored weight as is: pruned weights are exactly 0
    (zeroed on entry and after loads), their gradients are zeroed before
    every optimizer step and the weights re-zeroed after it (AdamW's update
    of a zero weight with zero gradient and zero moments is zero, but
    ``--grad_noise`` or a foreign optimizer might not be).
    """

    def mode(self, sp) -> int:
        return FIXED

    def pre_step(self, sp, phase: Phase) -> None:
        mask_gradients(sp)

    def on_step(self, sp, phase: Phase, done: int) -> Optional[str]:
        rezero_pruned(sp)
        return None


@torch.no_grad()
def mask_gradients(sp) -> None:
    """``grad *= mask`` for every target (one ``_foreach`` call)."""
    grads, masks = _grads_and_masks(sp)
    if grads:
        torch._foreach_mul_(grads, masks)


@torch.no_grad()
def rezero_pruned(sp) -> None:
    """``w *= mask`` for every target (one ``_foreach`` call)."""
    ws = [t.original for t in sp.targets]
    torch._foreach_mul_(ws, [t.parametrization.float_mask(w.dtype) for t, w in zip(sp.targets, ws)])


def due(done: int, interval: int) -> bool:
    """Whether an update every ``interval`` units falls after ``done`` units."""
    return done > 0 and done % int(interval) == 0


def changed(old: Sequence[torch.Tensor], new: Sequence[torch.Tensor]) -> int:
    """Number of entries that differ between two lists of masks."""
    if not old:
        return 0
    return int(torch.stack([(a != b).sum() for a, b in zip(old, new)]).sum().item())

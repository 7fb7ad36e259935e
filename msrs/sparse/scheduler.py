"""Phase scheduler: epoch and step accounting and phase transitions.

Driven by :meth:`SchedulerMixin.start_epoch` / :meth:`SchedulerMixin.end_epoch`
(called by :class:`msrs.sparse.trainer.MsrsTrainer` or your own loop) and by
:meth:`SchedulerMixin._after_step` (the optimizer post-step hook).  What a
phase *does* lives in its kind (:mod:`msrs.sparse.phase_kinds`): entering,
leaving, per-step and per-epoch work; the scheduler only decides when.
"""

from typing import Any, Dict, Optional

import torch

from msrs.sparse.masks import FIXED
from msrs.sparse.phase_kinds import KINDS
from msrs.sparse.phases import Phase


class SchedulerMixin:
    """Epoch/step bookkeeping and transitions of an :class:`AbsSparsity`."""

    @property
    def current_phase(self) -> Phase:
        return self.phase_list[self._s["phase_index"]]

    @property
    def phase(self) -> str:
        """Kind of the current phase."""
        return self.current_phase.kind

    @property
    def steps(self) -> int:
        """Optimizer steps taken (Python mirror of the ``global_step`` buffer)."""
        return self._s["global_step"]

    def _kind(self, phase: Optional[Phase] = None):
        return KINDS[(phase or self.current_phase).kind]

    def _mode(self) -> int:
        return self._kind().mode(self)

    def _later_search(self, index: int) -> bool:
        return any(p.kind == "search" for p in self.phase_list[index:])

    def _apply_modes(self) -> None:
        mode = self._mode()
        trainable = self._later_search(self._s["phase_index"]) and not self._s["released"]
        for t in self._targets:
            par = t.parametrization
            par.set_mode(mode)
            if par.logits is not None:
                par.logits.requires_grad_(trainable)

    # -- progress ---------------------------------------------------------
    def _elapsed_epochs(self) -> float:
        s = self._s
        frac = 0.0
        if s["steps_per_epoch"] > 0:
            frac = min(1.0, (s["global_step"] - s["epoch_start_step"]) / s["steps_per_epoch"])
        return max(0.0, s["epoch"] - s["phase_start_epoch"] + frac)

    def _phase_length(self, phase: Phase, span: Optional[int] = None) -> Optional[int]:
        """Length of ``phase`` in its unit (``span`` if given; ``None`` when open-ended)."""
        if span is not None:
            return span
        if phase.end is None:
            return None
        if phase.unit == "step":
            return phase.end - self._s["phase_start_step"]
        return phase.end - self._s["phase_start_epoch"] + 1

    def _progress(self, phase: Phase, span: Optional[int] = None) -> float:
        """Fraction of ``phase`` done, in ``[0, 1]`` (0 when its length is unknown)."""
        length = self._phase_length(phase, span)
        if not length or length <= 0:
            return 0.0
        if phase.unit == "step":
            return min(1.0, (self._s["global_step"] - self._s["phase_start_step"]) / length)
        return min(1.0, self._elapsed_epochs() / length)

    # -- epoch hooks --------------------------------------------------------
    def start_epoch(self, epoch: int, steps_hint: Optional[int] = None) -> None:
        """Call before training epoch ``epoch`` (1-based).

        Args:
            epoch: the epoch about to be trained.
            steps_hint: expected optimizer steps in this epoch, used for
                fractional-epoch progress until one epoch has been measured.
        """
        self._set("epoch", epoch)
        if self._s["steps_per_epoch"] <= 0 and steps_hint:
            self._set("steps_per_epoch", int(steps_hint))
        self._set("epoch_start_step", self._s["global_step"])
        self._flips_in_epoch = 0
        while True:
            ph = self.current_phase
            if (
                ph.unit == "epoch"
                and ph.end is not None
                and epoch > ph.end
                and self._s["phase_index"] + 1 < len(self.phase_list)
            ):
                self._transition(reason=f"end epoch {ph.end}", next_epoch=False)
            else:
                break
        self._kind().on_epoch_start(self, self.current_phase)

    def end_epoch(self, epoch: int) -> Dict[str, Any]:
        """Call after training epoch ``epoch``; returns :meth:`epoch_record`.

        Runs the current kind's epoch-end work (freeze test, epoch-interval
        topology updates) and epoch-unit phase ends.  The record describes
        the state the epoch trained with (before any transition done here).
        """
        s = self._s
        self._set("steps_per_epoch", s["global_step"] - s["epoch_start_step"])
        phase = self.current_phase
        transition = self._kind(phase).on_epoch_end(self, phase, epoch - s["phase_start_epoch"] + 1)
        record = self.epoch_record(epoch)
        if transition is None and phase.unit == "epoch" and phase.end is not None and epoch >= phase.end:
            transition = f"end epoch {phase.end}"
        if transition is not None and s["phase_index"] + 1 < len(self.phase_list):
            self._transition(reason=transition, next_epoch=True)
        return record

    def _after_step(self) -> None:
        """Step accounting, per-step phase work and step-unit phase ends (post-step hook)."""
        s = self._s
        self._set("global_step", s["global_step"] + 1)
        phase = self.current_phase
        transition = self._kind(phase).on_step(self, phase, s["global_step"] - s["phase_start_step"])
        if transition is None and phase.unit == "step" and phase.end is not None and s["global_step"] >= phase.end:
            transition = f"end step {phase.end}"
        if transition is not None and s["phase_index"] + 1 < len(self.phase_list):
            self._transition(reason=transition, next_epoch=False)

    # -- transitions --------------------------------------------------------
    @torch.no_grad()
    def _transition(self, reason: str, next_epoch: bool) -> None:
        old = self.current_phase
        new = self.phase_list[old.index + 1]
        self._kind(old).leave(self, old, new, reason)
        self._enter(new.index, previous=old, reason=reason, next_epoch=next_epoch)

    @torch.no_grad()
    def _enter(self, index: int, previous: Optional[Phase], reason: str, next_epoch: bool) -> None:
        s = self._s
        new = self.phase_list[index]
        self._set("phase_index", index)
        self._set("phase_start_epoch", s["epoch"] + 1 if next_epoch else max(s["epoch"], 1))
        self._set("phase_start_step", s["global_step"])
        self._set("stable_windows", 0)
        self._kind(new).enter(self, new, previous, reason)
        if previous is not None and self.uses_logits and not self._later_search(index):
            self.release(masks=all(p.kind == "dense" for p in self.phase_list[index:]))
        self._apply_modes()
        if self._mode() == FIXED and s["has_mask"]:  # the forward relies on exact zeros
            for t in self._targets:
                self._zero_pruned(t, t.parametrization.mask)
        if previous is not None:
            self.events.append(self._event("phase", reason=reason, **{"from": previous.kind, "to": new.kind}))
            self._log_transition(previous, index, new, reason)

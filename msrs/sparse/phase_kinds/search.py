"""``search`` phases: the learned soft mask of MSRS and Continuous Sparsification.

The effective weight is ``w * s * sigmoid(l * phi)``; the penalty pulls every
logit down (:mod:`msrs.sparse.penalties`, applied before each optimizer step);
the soft temperature ``l`` is annealed per epoch or per step.

**Hard decision**: ``phi > threshold`` (the ``l -> infinity`` limit), or the
top-``density`` logits (globally or per layer) when the phase sets
``density``, or the top-``target_density`` logits in target-density mode
(:mod:`msrs.sparse.density_control`).

**Freeze rule.** At the end of every ``window`` (epochs or steps) the flip
rate -- the share of hard decisions that changed since the previous window
-- is measured.  A window counts as *stable* when the flip rate is below
``epsilon`` **and the search has moved**: at least ``min_change`` (default
1 %) of the hard decisions differ from those of untouched logits
(``phi_init > threshold``; with ``density`` set: once the logits are no
longer all equal) -- once moved, always moved -- and, in target-density
mode, the density is within the controller's tolerance.  Without the
"moved" condition a search whose logits have not reached the threshold yet
(no flips because nothing moved) would freeze at once with nothing pruned.
After ``patience`` consecutive stable windows the mask freezes; a search that
never moves runs to its ``end``.

**Freeze** (leaving the search for a non-search phase): the hard decision
becomes the binary mask and every weight absorbs its soft factor
``s * sigmoid(l * phi)`` at the current temperature, so the effective weight of
every kept connection is the same just before and just after the freeze, at
any temperature (pruned ones are then zeroed by the next phase, or keep their
folded value with ``pruned_init: keep``).  Adam moments of kept weights are
rescaled to the new parametrisation (``exp_avg / f``, ``exp_avg_sq / f^2``);
those of pruned weights are reset.
"""

from typing import List, Optional

import torch

from msrs.sparse import topology
from msrs.sparse.masks import SOFT
from msrs.sparse.phase_kinds.base import AbsPhaseKind, changed
from msrs.sparse.phases import Phase
from msrs.sparse.schedules import interpolate


#: steps between refreshes of the penalty value reported in ESPnet's stats
PENALTY_LOG_EVERY = 10


@torch.no_grad()
def hard_masks(sp, phase: Phase) -> List[torch.Tensor]:
    """The hard decision of the search ``phase`` (one ``uint8`` mask per target)."""
    o = phase.options if phase.kind == "search" else {}
    logits = [t.parametrization.logits for t in sp.targets]
    density = o.get("density")
    if density is None and getattr(sp, "controller", None) is not None:
        density = sp.controller.target  # target-density mode: the top-target logits
    if density is None:
        thr = float(o.get("threshold", 0.0))
        return [(p > thr).to(torch.uint8) for p in logits]
    fan = [t.numel // p.numel() for t, p in zip(sp.targets, logits)]
    if o.get("density_scope", "global") == "layer":
        return [topology.topk_mask(p, round(float(density) * p.numel())) for p in logits]
    if len(set(fan)) == 1:
        return topology.global_topk_masks(logits, round(float(density) * sum(p.numel() for p in logits)))
    return topology.weighted_global_topk(logits, fan, float(density))


class SearchPhase(AbsPhaseKind):
    name = "search"

    def mode(self, sp) -> int:
        return SOFT

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        if previous is not None and previous.kind == "search" and phase.options.get("round_reset"):
            for t in sp.targets:
                t.parametrization.logits.clamp_(max=sp.phi_init_for(t))
        if sp._s["penalty_lambda"] < 0 or previous is None:
            sp._set("penalty_lambda", sp.penalty_weight)
        sp._set("temperature", float(phase.options["temperature"]["start"]))
        sp._set("search_moved", 0)
        for t, h in zip(sp.targets, hard_masks(sp, phase)):
            t.parametrization.mask.copy_(h)

    def on_epoch_start(self, sp, phase: Phase) -> None:
        self._update_temperature(sp, phase, per_step=False)

    def pre_step(self, sp, phase: Phase) -> None:
        if sp.add_penalty_to_loss:
            lam = sp._s["penalty_lambda"]
            sp.pull.apply(sp, lam, eps=sp.optimizer_eps)
            if sp._s["global_step"] % PENALTY_LOG_EVERY == 0:  # a reduction over every logit: not every step
                with torch.no_grad():
                    sp._last_penalty = float(sp.pull.value(sp, lam))

    def on_step(self, sp, phase: Phase, done: int) -> Optional[str]:
        self._update_temperature(sp, phase, per_step=True)
        if sp.controller is not None:
            sp.controller.step(sp, done, float(phase.options.get("threshold", 0.0)))
        f = phase.options.get("freeze")
        if f and f.get("window_unit") == "step" and done % int(f.get("window", 1)) == 0:
            if self.window_check(sp, phase):
                return "stable"
        return None

    def on_epoch_end(self, sp, phase: Phase, n_in_phase: int) -> Optional[str]:
        f = phase.options.get("freeze")
        if f and f.get("window_unit", "epoch") == "epoch" and n_in_phase % int(f.get("window", 1)) == 0:
            if self.window_check(sp, phase):
                return "stable"
        return None

    def leave(self, sp, phase: Phase, new: Phase, reason: str) -> None:
        if new.kind != "search":
            freeze(sp, phase, reason)

    # -- temperature ---------------------------------------------------------
    @staticmethod
    def _update_temperature(sp, phase: Phase, per_step: bool) -> None:
        t = phase.options["temperature"]
        if (t.get("per", "epoch") == "step") != per_step:
            return
        span = t.get("span")
        if per_step or phase.unit != "epoch":
            p = sp._progress(phase, span)
        else:  # per epoch: first epoch of the phase -> start, last -> end
            length = sp._phase_length(phase, span)
            i = sp._s["epoch"] - sp._s["phase_start_epoch"]
            p = 0.0 if not length or length <= 1 else min(1.0, i / (length - 1))
        sp._set("temperature", interpolate(float(t["start"]), float(t["end"]), p, t.get("schedule", "exponential")))

    # -- freeze test -----------------------------------------------------------
    @torch.no_grad()
    def window_check(self, sp, phase: Phase) -> bool:
        """Measure the flip rate of one window; return whether the mask is stable."""
        f = phase.options["freeze"]
        hard = hard_masks(sp, phase)
        old = [t.parametrization.mask for t in sp.targets]
        flips = changed(old, hard)
        for m, h in zip(old, hard):
            m.copy_(h)
        total = sum(m.numel() for m in old)
        rate = flips / max(total, 1)
        sp._flips_in_epoch += flips
        sp._set("flip_rate", rate)
        if not sp._s["search_moved"] and self._moved(sp, phase, hard, float(f.get("min_change", 0.01))):
            sp._set("search_moved", 1)
        stable = rate < float(f.get("epsilon", 0.0)) and bool(sp._s["search_moved"])
        if stable and sp.controller is not None:
            thr = float(phase.options.get("threshold", 0.0))
            stable = sp.controller.converged(sp.controller.hard_density(sp, thr))
        sp._set("stable_windows", sp._s["stable_windows"] + 1 if stable else 0)
        return sp._s["stable_windows"] >= int(f.get("patience", 1))

    @staticmethod
    def _moved(sp, phase: Phase, hard: List[torch.Tensor], min_change: float) -> bool:
        if phase.options.get("density") is not None:
            return any(bool((t.parametrization.logits != sp.phi_init_for(t)).any()) for t in sp.targets)
        thr = float(phase.options.get("threshold", 0.0))
        differ = sum(
            int((h == 0).sum().item()) if sp.phi_init_for(t) > thr else int(h.sum().item())
            for t, h in zip(sp.targets, hard)
        )
        return differ >= min_change * sum(h.numel() for h in hard)


@torch.no_grad()
def freeze(sp, phase: Phase, reason: str) -> None:
    """Freeze the hard decision, folding the soft factor into the weights (continuous)."""
    hard = hard_masks(sp, phase)
    sp._sync_tensors(hard)
    sp._flips_in_epoch += changed([t.parametrization.mask for t in sp.targets], hard)
    for t, h in zip(sp.targets, hard):
        par = t.parametrization
        ms = par.soft_factors()[0]
        w = t.original
        w.mul_(ms.to(w.dtype))
        keep = (h.bool() & (ms > 1e-6)).expand_as(w)
        f = torch.where(keep, ms.expand_as(w), torch.ones_like(w, dtype=torch.float32))
        for opt in sp._optimizers:
            st = opt.state.get(w)
            for k, v in (st or {}).items():
                if torch.is_tensor(v) and v.shape == w.shape:
                    v.div_((f * f if k.endswith("_sq") else f).to(v.dtype)).mul_(keep.to(v.dtype))
        par.drop_soft_cache()
    sp._install_masks(hard)
    density = sp.global_density(masks=hard)
    extra = {}
    if getattr(sp, "controller", None) is not None:
        extra["threshold_density"] = sp.controller.hard_density(sp, float(phase.options.get("threshold", 0.0)))
    sp._set("freeze_epoch", sp._s["epoch"])
    sp._set("freeze_step", sp._s["global_step"])
    sp._set("freeze_density", density)
    sp.events.append(
        sp._event("freeze", reason=reason, density=density, layers=sp.layer_densities(masks=hard), **extra)
    )
    sp.log_info(
        "mask frozen (%s) at epoch %d step %d, density %.4f, temperature %.3g",
        reason, sp._s["epoch"], sp._s["global_step"], density, sp._s["temperature"],
    )

"""``evolve`` phases: dynamic sparse training (SET, RigL).

Every ``interval`` steps (or epochs), in each layer, ``k = round(alpha_t *
active)`` active weights are dropped by the method's drop rule (smallest
``|w|``) and ``k`` connections are grown by its grow rule (SET: random; RigL:
largest dense gradient) among those *not kept after the drop* -- so a
connection just dropped may be grown back, as in RigL's reference code.
Grown connections (including re-grown ones) start at 0 with fresh optimizer
state.  ``alpha_t`` is ``drop_fraction`` decayed over the phase (``decay``).

RigL's dense gradient ``dL/d(w * m)`` is ``w.grad`` before it is masked:
the fixed-mask forward is the identity on the stored weight (pruned entries
are 0), so the pre-step hook copies it on update steps only, after ESPnet's
unscaling, clipping, gradient accumulation and DDP all-reduce.  A
gradient-flow probe computes its gradients with ``torch.autograd.grad`` and
never touches ``.grad``, so it cannot leak into the capture.
"""

from typing import Optional

import torch

from msrs.sparse import topology
from msrs.sparse.phase_kinds.base import IntervalUpdateKind, changed, due, mask_gradients
from msrs.sparse.phase_kinds.fixed import draw_initial_topology
from msrs.sparse.phases import Phase
from msrs.sparse.schedules import decayed_fraction


class EvolvePhase(IntervalUpdateKind):
    name = "evolve"

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        draw_initial_topology(sp, reason)

    def pre_step(self, sp, phase: Phase) -> None:
        if sp.grows_by_gradient and phase.options["interval_unit"] == "step":
            done = sp._s["global_step"] - sp._s["phase_start_step"] + 1
            if due(done, phase.options["interval"]):
                for t in sp.targets:
                    g = t.original.grad
                    t.parametrization.dense_grad = None if g is None else g.detach().float().clone()
        mask_gradients(sp)

    @torch.no_grad()
    def update(self, sp, phase: Phase, p: float) -> None:
        """One drop-and-grow update at progress ``p`` of the phase."""
        o = phase.options
        frac = decayed_fraction(float(o["drop_fraction"]), p, o["decay"])
        step = sp._s["global_step"]
        try:
            if sp.grows_by_gradient:
                grads = [t.parametrization.dense_grad for t in sp.targets]
                if any(g is None for g in grads):
                    sp.log_warning("no dense gradient captured at step %d; update skipped", step)
                    return
                if not all(bool(torch.isfinite(g).all()) for g in grads):
                    sp.log_warning("non-finite gradient at step %d; update skipped", step)
                    return
            new_masks, kept_masks = [], []
            for i, t in enumerate(sp.targets):
                m = t.parametrization.mask
                active = m.bool()
                n_active = int(active.sum().item())
                k = min(int(round(frac * n_active)), n_active)
                kept = sp.drop_rule(t, active, n_active - k)
                grow_sc = sp.grow_scores(t, step, i).float().clone()
                grow_sc[kept.bool()] = -float("inf")  # grow among all not kept after the drop
                grown = topology.topk_mask(grow_sc, k)
                kept_masks.append(kept)
                new_masks.append(kept | grown)
        finally:
            for t in sp.targets:
                t.parametrization.dense_grad = None
        sp._sync_tensors(new_masks)
        sp._sync_tensors(kept_masks)
        old = [t.parametrization.mask.clone() for t in sp.targets]
        sp._flips_in_epoch += changed(old, new_masks)
        for t, kept, m in zip(sp.targets, kept_masks, new_masks):
            sp._zero_pruned(t, kept)  # dropped and grown -> 0 with fresh optimizer state
            t.parametrization.mask.copy_(m)

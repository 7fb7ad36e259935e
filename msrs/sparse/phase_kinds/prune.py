"""``prune`` phases: gradual magnitude pruning (Zhu & Gupta, 2017).

The density goes from ``initial_density`` to ``final_density`` (default: the
method's ``density``) on the cubic schedule ``d(p) = d_f + (d_i - d_f)(1 -
p)^3`` over the phase, updated every ``interval`` steps or epochs by keeping
the largest ``|w|`` among the still active weights (pruned weights stay
pruned).  ``scope: layer`` prunes each layer to its density from the method's
``distribution`` (and ``erk_power``); ``scope: global`` ranks all targets
together.  The final density is enforced exactly when the phase ends.
"""

from typing import Optional

import torch

from msrs.sparse import topology
from msrs.sparse.phase_kinds.base import IntervalUpdateKind, changed
from msrs.sparse.phases import Phase
from msrs.sparse.schedules import cubic_density


class PrunePhase(IntervalUpdateKind):
    name = "prune"

    def enter(self, sp, phase: Phase, previous: Optional[Phase], reason: str) -> None:
        if not sp._s["has_mask"]:
            sp._install_masks([torch.ones_like(t.parametrization.mask) for t in sp.targets])
        if float(phase.options["initial_density"]) < 1.0:
            self.update(sp, phase, 0.0)  # jump to the initial density at once

    def leave(self, sp, phase: Phase, new: Phase, reason: str) -> None:
        self.update(sp, phase, 1.0)

    @torch.no_grad()
    def update(self, sp, phase: Phase, p: float) -> None:
        """Prune to the schedule's density at progress ``p`` in ``[0, 1]``."""
        o = phase.options
        final = o.get("final_density")
        if final is None:
            final = getattr(sp, "density", None)
        if final is None:
            raise ValueError(f"sparsity_conf.phases[{phase.index}]: prune needs final_density")
        initial = float(o["initial_density"])
        scores = []
        for t in sp.targets:
            sc = t.original.detach().abs().float().clone()
            sc[t.parametrization.mask == 0] = -1.0  # pruned stay pruned
            scores.append(sc)
        if o["scope"] == "global":
            d = cubic_density(initial, float(final), p)
            new = topology.global_topk_masks(scores, round(d * sum(s.numel() for s in scores)))
        else:
            finals = sp.layer_target_densities(float(final))
            new = [
                topology.topk_mask(sc, round(cubic_density(initial, f, p) * sc.numel()))
                for sc, f in zip(scores, finals)
            ]
        sp._sync_tensors(new)
        sp._flips_in_epoch += changed([t.parametrization.mask for t in sp.targets], new)
        sp._install_masks(new)
        for t in sp.targets:
            sp._zero_pruned(t, t.parametrization.mask)

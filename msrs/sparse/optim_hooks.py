"""Optimizer step hooks of a sparsity object.

``register_optimizer`` installs a pre-step and a post-step hook on every
optimizer holding target weights.  Before the step (ESPnet has unscaled and
clipped the gradients by then) the current phase kind does its gradient work:
the penalty's pull on the logits (search), RigL's dense-gradient capture and
``grad *= mask`` (fixed masks).  After the step the scheduler counts it, and
the phase kind re-zeroes pruned weights, anneals the temperature, tests the
freeze or updates the topology.  Only the first such optimizer (*primary*)
drives the schedule.
"""

from typing import Optional

import torch


class OptimHooksMixin:
    """Step hooks and optimizer-state surgery of an :class:`AbsSparsity`."""

    def register_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Hook ``optimizer``: gradient work before, schedule after each step."""
        if any(o is optimizer for o in self._optimizers):
            return
        ids = {id(t.original) for t in self._targets}
        holds = any(id(p) in ids for g in optimizer.param_groups for p in g["params"])
        self._optimizers.append(optimizer)
        if not holds:
            return
        primary = not any(getattr(o, "_msrs_primary", False) for o in self._optimizers[:-1])
        optimizer._msrs_primary = primary
        self._handles.append(optimizer.register_step_pre_hook(self._pre_step))
        self._handles.append(optimizer.register_step_post_hook(self._post_step))
        self._check_pull(optimizer)

    @property
    def optimizer_eps(self) -> Optional[float]:
        """``eps`` of the primary optimizer (Adam-type), if any."""
        for o in self._optimizers:
            if getattr(o, "_msrs_primary", False):
                return o.defaults.get("eps")
        return None

    def _check_pull(self, optimizer) -> None:
        """Hook for methods that can tell at registration whether their penalty is inert."""

    def _pre_step(self, optimizer, args, kwargs) -> None:
        if getattr(optimizer, "_msrs_primary", False):
            self._kind().pre_step(self, self.current_phase)

    @torch.no_grad()
    def _post_step(self, optimizer, args, kwargs) -> None:
        if getattr(optimizer, "_msrs_primary", False):
            self._after_step()

    # -- optimizer state -----------------------------------------------------
    @torch.no_grad()
    def _zero_pruned(self, target, mask: torch.Tensor) -> None:
        """Zero pruned weights and their optimizer state (moments, buffers)."""
        w = target.original
        m = mask.to(w.dtype)
        w.mul_(m)
        for opt in self._optimizers:
            for v in (opt.state.get(w) or {}).values():
                if torch.is_tensor(v) and v.shape == w.shape:
                    v.mul_(m.to(v.dtype))

    def _drop_state(self, param: torch.Tensor) -> None:
        for opt in self._optimizers:
            opt.state.pop(param, None)

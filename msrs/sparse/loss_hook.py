"""Forward hook that reports the sparsity penalty in ESPnet's ``stats``.

The penalty's gradient is applied to the logits in the optimizer pre-step
hook (:mod:`msrs.sparse.penalties`), so the loss the model returns -- and
what backward sees -- is the task loss; ``stats["sparsity_penalty"]`` carries
the penalty of a recent optimizer step for the logs (0 outside a search).  With
``add_penalty_to_loss: false`` nothing is applied: add
``model.sparsity.penalty()`` to your loss yourself.
"""

from contextlib import contextmanager

import torch


class LossHookMixin:
    """The forward hook of an :class:`AbsSparsity` and the probe's switch."""

    @contextmanager
    def penalty_disabled(self):
        """Context manager: the forward hook reports no penalty (gradient probes)."""
        prev, self._penalty_enabled = self._penalty_enabled, False
        try:
            yield self
        finally:
            self._penalty_enabled = prev

    def _forward_hook(self, module, args, output):
        if not self._penalty_enabled:
            return None
        if isinstance(output, dict) and "loss" in output and isinstance(output.get("stats"), dict):
            loss, weight, stats = output["loss"], output.get("weight"), output["stats"]
        elif isinstance(output, (tuple, list)) and len(output) == 3 and isinstance(output[1], dict):
            loss, stats, weight = output
        else:
            return None
        # ESPnet's force_gatherable makes every stat 1-d (shape of ``weight``);
        # DDP's recursive_average asserts equal shapes, so match it
        shape = weight.shape if torch.is_tensor(weight) else ()
        value = torch.tensor(float(self._last_penalty) if self.phase == "search" else 0.0, device=loss.device)
        stats = dict(stats)
        stats["sparsity_penalty"] = value.reshape(()).expand(shape).clone()
        if isinstance(output, dict):
            out = dict(output)
            out["stats"] = stats
            return out
        return (loss, stats, output[2])

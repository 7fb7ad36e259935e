"""Gradient clipping of weights and mask logits, apart.

ESPnet's training loop clips ``model.parameters()`` together with
``torch.nn.utils.clip_grad_norm_``.  During a search the logits' gradients
grow with the soft temperature (``dL/dphi`` carries a factor ``l``) and at
``l = 200`` carry almost all of the squared norm, so they would decide how
much the *weights'* gradients are clipped, and the logged ``grad_norm`` would
no longer describe the weights.

:func:`split_clipping` replaces ``torch.nn.utils.clip_grad_norm_`` while
ESPnet trains one epoch (a context manager in
:meth:`msrs.sparse.trainer.MsrsTrainer.train_one_epoch`; ESPnet offers no
hook around its clipping call).  When the parameters include mask logits, the
replacement clips the weights to ``max_norm`` and the logits to
``mask_grad_clip`` (default ``max_norm``) separately and returns the
*weights'* norm (ESPnet logs it as ``grad_norm``); if the logits' norm is not
finite it returns that instead, so ESPnet skips the step as it would have.
The logits' norm of each step is kept for the epoch log
(``sparsity_logit_grad_norm``).  Any other call passes through unchanged.
"""

import contextlib
import math
from typing import List

import torch


@contextlib.contextmanager
def split_clipping(sparsity):
    """Clip weights and ``sparsity``'s logits separately while the block runs."""
    original = torch.nn.utils.clip_grad_norm_
    logit_ids = {id(p) for p in sparsity.logit_parameters}
    norms: List[float] = []

    def clip(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
        params = [parameters] if torch.is_tensor(parameters) else list(parameters)
        logits = [p for p in params if id(p) in logit_ids and p.grad is not None]
        if not logits:
            return original(params, max_norm, norm_type, error_if_nonfinite, foreach)
        weights = [p for p in params if id(p) not in logit_ids]
        norm = original(weights, max_norm, norm_type, error_if_nonfinite, foreach)
        limit = sparsity.mask_grad_clip if getattr(sparsity, "mask_grad_clip", None) else max_norm
        lnorm = original(logits, limit, norm_type, error_if_nonfinite, foreach)
        norms.append(float(lnorm))
        # the clipping factors of weights and logits, for the threshold_rms reference (penalties.py)
        sparsity._clip_factors = (
            sparsity.steps, _factor(norm, max_norm), _factor(lnorm, limit)
        )
        if norm_type == 2.0:  # the penalty's grad_rms normalisation reuses the clipped norm
            sparsity._clipped_logit_norm = (sparsity.steps, min(norms[-1], float(limit)))
        return lnorm if not torch.isfinite(lnorm) else norm

    torch.nn.utils.clip_grad_norm_ = clip
    try:
        yield norms
    finally:
        torch.nn.utils.clip_grad_norm_ = original


def _factor(norm: torch.Tensor, limit: float) -> float:
    """``clip_grad_norm_``'s scaling: ``min(1, limit / norm)`` (1 when not finite)."""
    n = float(norm)
    return min(1.0, float(limit) / (n + 1e-6)) if math.isfinite(n) and n > 0 else 1.0


def mean_norm(norms: List[float]) -> float:
    """Mean of the finite norms (NaN when none)."""
    finite = [n for n in norms if math.isfinite(n)]
    return sum(finite) / len(finite) if finite else float("nan")

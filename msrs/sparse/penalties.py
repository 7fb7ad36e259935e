"""The sparsity penalty of the learned-mask methods, applied as a pull on each logit.

The penalty is ``lambda * c * R`` with

* ``R = sum(phi)`` (``penalty: logits``; MSRS's ``lambda 1^T phi`` as reported
  second-hand): every logit feels ``dR/dphi = 1``;
* ``R = sum(s * sigmoid(l * phi))`` (``penalty: mask``; Continuous
  Sparsification): ``dR/dphi = l s m (1 - m)``;

and the normalisation ``c`` (``penalty_normalize``):

* ``grad_rms``: ``c`` = the root mean square of the logits'
  task gradients at that step, over all logits of the model.  The pull is then
  measured in units of the typical task gradient, which is what decides
  pruning under Adam-type optimizers (the update of a logit depends on the
  ratio of its pull to its task gradient, not on either alone), so one
  ``lambda`` means the same at 0.4 M and at 250 M parameters.  Being global
  (not per layer), layers whose gradients vanish feel a relatively larger
  pull: they are the ones pruned (the paper's "implicitly masking the weights
  affected by vanishing gradients").
* ``threshold_rms`` (MSRS default): ``c`` = the root mean square, over
  the logits above the threshold, of the task gradient each logit *would*
  have if it sat on the threshold: ``|sum_fan(dL/dw_eff * w)| * l * s / 4``
  (``sigmoid'(0) = 1/4``).  ``grad_rms`` measures the logits' actual
  gradients, which carry ``sigmoid'(l * phi)``: once the soft mask saturates
  (``l * phi`` of 10 gives 4.5e-5) they, and so the pull, vanish together and
  the logits stop moving -- measured on the mini recipe: threshold density
  0.99 after a 3-epoch search.  Measured at the threshold, the reference is
  the size of the task gradient a logit meets where the decision is made:
  saturated logits feel a pull much larger than their own (vanished) task
  gradient and walk down at the optimizer's rate, and at the threshold the
  contest is decided by ``lambda`` against the task gradient, as intended.
  ``dL/dw_eff * w`` is read from the stored weight's gradient
  (``dL/dw = dL/dw_eff * ms``), undoing the weights' clipping factor and
  applying the logits' (:mod:`msrs.sparse.clipping`), every
  :data:`THRESHOLD_RMS_EVERY` steps (a pass over every weight); the value is
  kept in between.
* ``none``: ``c = 1`` (the literal formula; CS's default).
* ``count``: ``c = 1 / N`` for ``N`` logits (msrs < 0.2's ``penalty_normalize:
  true``).  At 250 M logits and ``lambda = 1`` the pull is 4e-9, below Adam's
  ``eps``, and the mask just follows the sign of the task gradient.

The gradient ``lambda * c * dR/dphi`` is added to the logits' ``.grad`` in the
optimizer pre-step hook (after ESPnet's unscaling and clipping): no autograd
graph is built over the logits for it.  :meth:`LogitPull.value` gives the
same penalty as a differentiable scalar for logging or for a custom loop
(``add_penalty_to_loss: false``).
"""

import logging
import math
from typing import List, Optional

import torch

logger = logging.getLogger(__name__)

PENALTY_FORMS = ("logits", "mask")
NORMALIZATIONS = ("threshold_rms", "grad_rms", "none", "count")
#: normalisations measured in units of a task gradient (the target-density controller needs one)
GRADIENT_UNITS = ("threshold_rms", "grad_rms")
#: optimizer steps between two measurements of the ``threshold_rms`` reference
THRESHOLD_RMS_EVERY = 10


def parse_normalize(value) -> str:
    """Accept ``threshold_rms|grad_rms|none|count`` and the old booleans (true = count, false = none)."""
    if value is True:
        return "count"
    if value is False or value is None:
        return "none"
    if value not in NORMALIZATIONS:
        raise ValueError(f"sparsity_conf penalty_normalize must be one of {NORMALIZATIONS}, got {value!r}")
    return value


class LogitPull:
    """``lambda * c * R`` of the module docstring, as a gradient and as a value.

    Args:
        form: ``logits`` or ``mask``.
        normalize: one of :data:`NORMALIZATIONS`.
    """

    def __init__(self, form: str, normalize: str):
        if form not in PENALTY_FORMS:
            raise ValueError(f"sparsity_conf penalty must be one of {PENALTY_FORMS}, got {form!r}")
        self.form = form
        self.normalize = parse_normalize(normalize)
        self._warned = False

    def _coefficient(self, logits: List[torch.Tensor], grads: List[torch.Tensor], clipped=None) -> float:
        """``c`` for ``count``, ``none`` and ``grad_rms`` (``threshold_rms``: :func:`threshold_rms`)."""
        n = sum(p.numel() for p in logits)
        if self.normalize == "count":
            return 1.0 / max(n, 1)
        if self.normalize == "none":
            return 1.0
        if not grads:
            return 0.0
        if clipped is not None:  # measured by the trainer's clipping this step (no extra pass)
            total = clipped
        else:
            total = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))).item())
        return total / math.sqrt(max(sum(g.numel() for g in grads), 1))

    @torch.no_grad()
    def apply(self, sp, lam: float, eps: Optional[float] = None) -> None:
        """Add ``lam * c * dR/dphi`` to the ``.grad`` of ``sp``'s logits."""
        pars = [t.parametrization for t in sp.targets if t.parametrization.logits is not None]
        pars = [p for p in pars if p.logits.grad is not None]
        if not pars:
            return
        grads = [p.logits.grad for p in pars]
        tag = getattr(sp, "_clipped_logit_norm", None)
        clipped = tag[1] if tag is not None and tag[0] == sp.steps else None
        if self.normalize == "threshold_rms":
            coef = sp._s["pull_coef"]
            if coef <= 0.0 or sp.steps % THRESHOLD_RMS_EVERY == 0:
                coef = threshold_rms(sp)
                if coef <= 0.0:  # nothing above the threshold or no weight gradient: the actual RMS
                    coef = self._coefficient([p.logits for p in pars], grads, clipped)
        else:
            coef = self._coefficient([p.logits for p in pars], grads, clipped)
        sp._set("pull_coef", coef)
        pull = lam * coef
        largest = abs(pull) * self._max_slope(sp)
        if eps is not None and not self._warned and 0.0 < largest < eps:
            self._warned = True
            logger.warning(
                "sparsity: the penalty's pull per logit (%.3g) is below the optimizer's eps (%.1g): "
                "the learned mask will follow the sign of the task gradient, not the penalty; "
                "raise penalty_weight or use penalty_normalize: grad_rms (docs/sparsity.md)",
                largest, eps,
            )
        if pull == 0.0:
            return
        if self.form == "logits":
            torch._foreach_add_(grads, pull)
        else:
            torch._foreach_add_(grads, [p.soft_factors()[1] for p in pars], alpha=pull)

    def _max_slope(self, sp) -> float:
        """Largest ``dR/dphi`` (1 for ``logits``; ``l s / 4`` for ``mask``)."""
        if self.form == "logits":
            return 1.0
        return sp.soft_temperature * sp.mask_scale / 4.0

    def value(self, sp, lam: float) -> torch.Tensor:
        """The penalty ``lam * c * R`` (fp32, differentiable in the logits)."""
        logits = [p for p in sp.logit_parameters if p.numel()]
        if self.form == "logits":
            total = torch.stack([p.float().sum() for p in logits]).sum()
        else:
            t = sp.soft_temperature
            total = torch.stack([torch.sigmoid(p.float() * t).sum() for p in logits]).sum() * sp.mask_scale
        # grad_rms / threshold_rms: the reference of the last step (0 before the first)
        c = sp._s["pull_coef"] if self.normalize in GRADIENT_UNITS else self._coefficient(logits, [])
        return total * (lam * c)


@torch.no_grad()
def threshold_rms(sp) -> float:
    """RMS over logits above the threshold of ``|sum_fan(dL/dw_eff * w)| * l * s / 4``.

    ``dL/dw_eff * w`` is ``w.grad * w / ms`` (``ms = s * sigmoid(l * phi) >= s / 2``
    above the threshold, so the division is well conditioned).  The weights'
    gradients have been clipped apart from the logits' by then
    (:mod:`msrs.sparse.clipping`): the weights' clipping factor is undone and the
    logits' applied, so the result is in the units of the logits' gradients.

    Returns:
        The reference (>= 0; 0 when no logit is above the threshold or no
        weight has a gradient).
    """
    t, s = float(sp.soft_temperature), float(sp.mask_scale)
    total, count = 0.0, 0
    for tgt in sp.targets:
        par = tgt.parametrization
        w = tgt.original
        if par.logits is None or w.grad is None:
            continue
        ms, _ = par.soft_factors()
        above = ms >= 0.5 * s
        gw = torch.mul(w.grad.float(), w.float()).div_(ms)
        if gw.shape != ms.shape:  # per-channel logits: sum over the fan
            dims = [i for i, (a, b) in enumerate(zip(gw.shape, ms.shape)) if a != b]
            gw = gw.sum(dim=dims, keepdim=True)
        gw = gw[above]
        total += float(torch.dot(gw, gw))
        count += int(gw.numel())
    if count == 0:
        return 0.0
    factor = t * s / 4.0
    clip = getattr(sp, "_clip_factors", None)
    if clip is not None and clip[0] == sp.steps:
        factor *= clip[2] / max(clip[1], 1e-12)
    return math.sqrt(total / count) * factor

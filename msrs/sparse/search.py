"""Shared base of the learned-mask methods (MSRS, Continuous Sparsification).

Each target gets logits ``phi`` (same shape as the weight, or one per output
channel with ``granularity: channel``).  In a ``search`` phase the effective
weight is ``w * s * sigmoid(l * phi)`` with the annealed soft temperature ``l``
and the constant ``s = 1 / sigmoid(l0 * phi_init)`` (``normalize_mask``; ``l0``
the first search phase's start temperature), so the initial mask is exactly 1
(Continuous Sparsification's normalisation).  Leaving the search freezes the
hard decision ``phi > threshold`` (the ``l -> infinity`` limit); with
``fold_scale`` the kept weights absorb ``s`` so the effective weights do not
jump.

The penalty is ``penalty_weight * R`` with ``R = sum(phi)`` (``penalty:
logits``, the MSRS form as reported second-hand) or ``R = sum(s * sigmoid(l *
phi))`` (``penalty: mask``, Continuous Sparsification); divided by the number
of logits when ``penalty_normalize`` (our choice, so that ``penalty_weight``
does not depend on model size).  It is computed in fp32 whatever autocast says.
"""

import math
from typing import Any, Dict, List, Optional, Sequence

import torch

from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.targets import Target

PENALTY_FORMS = ("logits", "mask")
GRANULARITIES = ("element", "channel")


class SearchSparsity(AbsSparsity):
    """Learned soft masks with a penalty; see the module docstring.

    Args (in addition to :class:`AbsSparsity`'s):
        phi_init: initial logit value.
        penalty: ``logits`` or ``mask``.
        penalty_weight: ``lambda``.
        penalty_normalize: divide the penalty by the number of logits.
        granularity: ``element`` (one logit per weight) or ``channel`` (one
            per output channel: structured, shrinks the width).
        normalize_mask: multiply the soft mask by ``1/sigmoid(l0 * phi_init)``.
        fold_scale: at freeze, fold that factor into the kept weights.
        mask_lr_scale: learning-rate multiplier of the logits' param group.
        mask_weight_decay: weight decay of the logits' param group.
    """

    uses_logits = True
    supported_phases = ("search", "dense", "sparse")

    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
        phi_init: float = 0.0,
        penalty: str = "logits",
        penalty_weight: float = 1.0,
        penalty_normalize: bool = True,
        granularity: str = "element",
        normalize_mask: bool = True,
        fold_scale: bool = True,
        mask_lr_scale: float = 1.0,
        mask_weight_decay: float = 0.0,
    ):
        if penalty not in PENALTY_FORMS:
            raise ValueError(f"sparsity_conf penalty must be one of {PENALTY_FORMS}, got {penalty!r}")
        if granularity not in GRANULARITIES:
            raise ValueError(f"sparsity_conf granularity must be one of {GRANULARITIES}, got {granularity!r}")
        if penalty_weight < 0:
            raise ValueError("sparsity_conf penalty_weight must be >= 0")
        super().__init__(
            phases=phases,
            include=include,
            exclude=exclude,
            module_types=module_types,
            seed=seed,
            report_depth=report_depth,
            add_penalty_to_loss=add_penalty_to_loss,
        )
        self.phi_init = float(phi_init)
        self.penalty_form = penalty
        self.penalty_weight = float(penalty_weight)
        self.penalty_normalize = bool(penalty_normalize)
        self.granularity = granularity
        self.normalize_mask = bool(normalize_mask)
        self.fold_scale = bool(fold_scale)
        self.mask_lr_scale = float(mask_lr_scale)
        self.mask_weight_decay = float(mask_weight_decay)
        searches = [p for p in self.phase_list if p.kind == "search"]
        if not searches:
            raise ValueError(f"sparsity_conf.phases ({self.method_name}): needs at least one search phase")
        for p in searches:
            t = p.options["temperature"]
            if p.end is None and t.get("span") is None and t.get("schedule") != "constant":
                raise ValueError(
                    f"sparsity_conf.phases[{p.index}]: a search phase without end needs temperature.span"
                )
        l0 = float(searches[0].options["temperature"]["start"])
        self._mask_scale = 1.0 / _sigmoid(l0 * self.phi_init) if self.normalize_mask else 1.0

    @property
    def mask_scale(self) -> float:
        return self._mask_scale

    def mask_shape(self, target: Target) -> Sequence[int]:
        if self.granularity == "channel":
            return (target.shape[0],) + (1,) * (len(target.shape) - 1)
        return target.shape

    def penalty(self) -> Optional[torch.Tensor]:
        """``lambda * R`` in fp32 during a search phase, else ``None``."""
        if self.phase != "search" or self.penalty_weight == 0.0 or not self._attached:
            return None
        logits = self.logit_parameters
        if self.penalty_form == "logits":
            total = torch.stack([p.float().sum() for p in logits]).sum()
        else:
            t = self.soft_temperature
            total = torch.stack([torch.sigmoid(p.float() * t).sum() for p in logits]).sum()
            total = total * self.mask_scale
        if self.penalty_normalize:
            total = total / sum(p.numel() for p in logits)
        return total * self.penalty_weight


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)

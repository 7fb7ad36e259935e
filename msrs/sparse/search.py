"""Shared base of the learned-mask methods (MSRS, Continuous Sparsification).

Each target gets logits ``phi`` (same shape as the weight, or one per output
channel with ``granularity: channel``).  In a ``search`` phase the effective
weight is ``w * s * sigmoid(l * phi)`` with the annealed soft temperature ``l``
and the constant ``s = 1 / sigmoid(l0 * phi_init)`` (``normalize_mask``; ``l0``
the first search phase's start temperature), so the initial mask is exactly 1
(Continuous Sparsification's normalisation).  Leaving the search freezes the
hard decision and folds the soft factor into the weights (continuous; see
:mod:`msrs.sparse.phase_kinds.search`).  The penalty and its normalisation are
in :mod:`msrs.sparse.penalties`; ``target_density`` turns on the controller of
:mod:`msrs.sparse.density_control`.
"""

import math
from typing import Any, Dict, Optional, Sequence

import torch

from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.density_control import DensityController
from msrs.sparse.penalties import GRADIENT_UNITS, LogitPull, parse_normalize
from msrs.sparse.targets import Target

GRANULARITIES = ("element", "channel")


class SearchSparsity(AbsSparsity):
    """Learned soft masks with a penalty.

    Options (in addition to :class:`AbsSparsity`'s):
        phi_init: initial logit value.
        penalty: ``logits`` (``R = sum(phi)``) or ``mask`` (``R = sum(s sigmoid(l phi))``).
        penalty_weight: ``lambda`` (the start value in target-density mode).
        penalty_normalize: ``threshold_rms``, ``grad_rms``, ``none`` or ``count``
            (:mod:`msrs.sparse.penalties`; old booleans: true = count, false = none).
        target_density: adjust ``lambda`` during the search so that the hard
            density reaches this value (needs ``threshold_rms`` or ``grad_rms``); ``null``: off.
        target_density_conf: ``{gain, interval, tolerance}`` of the controller.
        granularity: ``element`` (one logit per weight) or ``channel`` (one
            per output channel: structured, shrinks the width).
        normalize_mask: multiply the soft mask by ``1/sigmoid(l0 * phi_init)``.
        fold_scale: kept for old configs; the freeze always folds the soft
            factor into the weights (``false`` is rejected).
        mask_lr_scale: learning-rate multiplier of the logits' param group.
        mask_weight_decay: weight decay of the logits' param group.
        mask_grad_clip: gradient-norm clip of the logits (clipped apart from
            the weights by :class:`~msrs.sparse.trainer.MsrsTrainer`);
            ``null``: the trainer's ``grad_clip``.
    """

    uses_logits = True
    supported_phases = ("search", "dense", "sparse")
    options = {
        "phi_init": 0.0,
        "penalty": "logits",
        "penalty_weight": 1.0,
        "penalty_normalize": "threshold_rms",
        "target_density": None,
        "target_density_conf": None,
        "granularity": "element",
        "normalize_mask": True,
        "fold_scale": True,
        "mask_lr_scale": 1.0,
        "mask_weight_decay": 0.0,
        "mask_grad_clip": None,
    }

    def configure(self, opts: Dict[str, Any]) -> None:
        super().configure(opts)
        if opts["granularity"] not in GRANULARITIES:
            raise ValueError(f"sparsity_conf granularity must be one of {GRANULARITIES}, got {opts['granularity']!r}")
        if opts["penalty_weight"] < 0 and opts["target_density"] is None:
            raise ValueError("sparsity_conf penalty_weight must be >= 0")
        if not opts["fold_scale"]:
            raise ValueError(
                "sparsity_conf fold_scale: false is no longer supported: the freeze always folds the soft "
                "mask factor into the weights so that the network function is continuous (docs/sparsity.md)"
            )
        self.phi_init = float(opts["phi_init"])
        self.penalty_form = opts["penalty"]
        self.penalty_weight = float(opts["penalty_weight"])
        self.penalty_normalize = parse_normalize(opts["penalty_normalize"])
        self.pull = LogitPull(self.penalty_form, self.penalty_normalize)
        self.granularity = opts["granularity"]
        self.normalize_mask = bool(opts["normalize_mask"])
        self.mask_lr_scale = float(opts["mask_lr_scale"])
        self.mask_weight_decay = float(opts["mask_weight_decay"])
        self.mask_grad_clip = None if opts["mask_grad_clip"] is None else float(opts["mask_grad_clip"])
        self.target_density = opts["target_density"]
        self.controller: Optional[DensityController] = None
        if self.target_density is not None:
            if self.penalty_normalize not in GRADIENT_UNITS:
                raise ValueError(
                    f"sparsity_conf target_density needs penalty_normalize in {GRADIENT_UNITS}, "
                    f"got {self.penalty_normalize!r}"
                )
            self.controller = DensityController(float(self.target_density), opts["target_density_conf"])
        elif opts["target_density_conf"] is not None:
            raise ValueError("sparsity_conf target_density_conf is given without target_density")

    def check(self) -> None:
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
        """``lambda * c * R`` in fp32 during a search phase, else ``None``."""
        if self.phase != "search" or not self._attached:
            return None
        return self.pull.value(self, self._s["penalty_lambda"])

    def _check_pull(self, optimizer) -> None:
        eps = optimizer.defaults.get("eps")
        if eps is None or self.pull.normalize in GRADIENT_UNITS or self.penalty_weight == 0.0:
            return
        n = max(sum(p.numel() for p in self.logit_parameters), 1)
        c = 1.0 / n if self.pull.normalize == "count" else 1.0
        slope = 1.0 if self.penalty_form == "logits" else float(
            max(p.options["temperature"]["end"] for p in self.phase_list if p.kind == "search")
        ) * self.mask_scale / 4.0
        pull = self.penalty_weight * c * slope
        if pull < eps:
            self.log_warning(
                "the penalty's largest pull per logit is %.3g, below the optimizer's eps (%.1g) "
                "(penalty_weight %g, penalty_normalize %s, %d logits): the learned mask will follow the "
                "sign of the task gradient, not the penalty; use penalty_normalize: threshold_rms (docs/sparsity.md)",
                pull, eps, self.penalty_weight, self.pull.normalize, n,
            )


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)

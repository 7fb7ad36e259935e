"""Continuous Sparsification (Savarese, Silva & Maire, NeurIPS 2020).

As published (github.com/lolemacs/continuous-sparsification): logits
``s`` start at ``s0 = 0``; soft mask ``sigmoid(beta * s) / sigmoid(s0)``;
loss ``CE + lambda * sum(mask)`` (an L1 on the soft-mask values, *not*
normalised), ``lambda = 1e-8``; ``beta`` grows geometrically from 1 to 200
within each round (per epoch); between rounds ``beta`` resets to 1 and
``s <- min(s, s0)`` (``round_reset``); after the last round the ticket
``1[s > 0]`` is trained with fixed mask (``sparse`` phase).  Sparsity is an
outcome of ``s0``, ``lambda`` and ``beta``; set ``density`` on the last search
phase for a matched-density top-k ticket instead.

Differences from the published code (our choices): rounds default to 3 x 10
epochs (published: 3 x 85 CIFAR epochs); the mask scale ``1/sigmoid(s0)`` is
folded into the kept weights at the ticket instead of being kept on the
binary mask (identical function); weights are not rewound to an early epoch
before the ticket training; logits share the weights' optimizer type (their
own param group without weight decay) instead of a separate SGD.
"""

from typing import Any, Dict, List, Optional

from typeguard import typechecked

from msrs.sparse.search import SearchSparsity


class ContinuousSparsification(SearchSparsity):
    """Continuous Sparsification (registry key ``cs``)."""

    method_name = "cs"

    @typechecked
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
        penalty: str = "mask",
        penalty_weight: float = 1.0e-8,
        penalty_normalize: bool = False,
        granularity: str = "element",
        normalize_mask: bool = True,
        fold_scale: bool = True,
        mask_lr_scale: float = 1.0,
        mask_weight_decay: float = 0.0,
    ):
        super().__init__(
            phases=phases,
            include=include,
            exclude=exclude,
            module_types=module_types,
            seed=seed,
            report_depth=report_depth,
            add_penalty_to_loss=add_penalty_to_loss,
            phi_init=phi_init,
            penalty=penalty,
            penalty_weight=penalty_weight,
            penalty_normalize=penalty_normalize,
            granularity=granularity,
            normalize_mask=normalize_mask,
            fold_scale=fold_scale,
            mask_lr_scale=mask_lr_scale,
            mask_weight_decay=mask_weight_decay,
        )

    def phase_defaults(self) -> Dict[str, Dict[str, Any]]:
        return {"search": {"freeze": None, "round_reset": True}}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [
            {"name": "search", "end": 10},
            {"name": "search", "end": 20},
            {"name": "search", "end": 30},
            {"name": "sparse"},
        ]

"""Continuous Sparsification (Savarese, Silva & Maire, NeurIPS 2020).

As published (github.com/lolemacs/continuous-sparsification): logits
``s`` start at ``s0 = 0``; soft mask ``sigmoid(beta * s) / sigmoid(s0)``;
loss ``CE + lambda * sum(mask)`` (an L1 on the soft-mask values, *not*
normalised: ``penalty_normalize: none``), ``lambda = 1e-8``; ``beta`` grows
geometrically from 1 to 200 within each round (per epoch); between rounds
``beta`` resets to 1 and ``s <- min(s, s0)`` (``round_reset``); after the last
round the ticket ``1[s > 0]`` is trained with fixed mask (``sparse`` phase).
Sparsity is an outcome of ``s0``, ``lambda`` and ``beta``; set ``density`` on
the last search phase for a matched-density top-k ticket, or
``target_density`` (with ``penalty_normalize: grad_rms``) for the controller.

Differences from the published code (our choices): rounds default to 3 x 10
epochs (published: 3 x 85 CIFAR epochs); the mask factor is folded into the
weights at the ticket instead of being kept on the binary mask (identical
function); weights are not rewound to an early epoch before the ticket
training; logits share the weights' optimizer type (their own param group
without weight decay) instead of a separate SGD.
"""

from typing import Any, Dict, List

from msrs.sparse.search import SearchSparsity


class ContinuousSparsification(SearchSparsity):
    """Continuous Sparsification (registry key ``cs``)."""

    method_name = "cs"
    options = {"penalty": "mask", "penalty_weight": 1.0e-8, "penalty_normalize": "none"}

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

"""MSRS: learned sparse mask, frozen when stable, then dense or sparse training.

Fernandez-Lopez et al., "MSRS: Training Multimodal Speech Recognition Models
from Scratch with Sparse Mask Optimization", Interspeech 2024.  The paper's
hyper-parameters are not public; every default below is **our
reconstruction** (docs/sparsity.md):

* masks on all Linear/Conv weights except the output layers, one logit per
  weight, ``phi_init = 0``, soft mask ``2 * sigmoid(l * phi)`` (initially 1);
* penalty ``lambda * mean(phi)`` (the reported ``lambda * 1^T phi``, divided by
  the number of logits), ``lambda = 1``;
* soft temperature annealed exponentially per epoch from 1 to 200 over the
  search phase (at most 10 epochs); hard decision ``phi > 0``;
* frozen when fewer than 0.1 % of the hard decisions flip per epoch for 2
  consecutive epochs, or at the end of epoch 10, whichever first;
* ``dense`` continuation (the paper's best VSR setting is not known; switch
  to ``{name: sparse}`` for the sparse continuation); pruned weights restart
  from 0.
"""

from typing import Any, Dict, List, Optional

from typeguard import typechecked

from msrs.sparse.search import SearchSparsity


class MSRSSparsity(SearchSparsity):
    """MSRS (registry key ``msrs``); arguments as :class:`SearchSparsity`."""

    method_name = "msrs"

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
        penalty: str = "logits",
        penalty_weight: float = 1.0,
        penalty_normalize: bool = True,
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

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "search", "end": 10, "unit": "epoch"}, {"name": "dense"}]

"""MSRS: learned sparse mask, frozen when stable, then dense or sparse training.

Fernandez-Lopez et al., "MSRS: Training Multimodal Speech Recognition Models
from Scratch with Sparse Mask Optimization", Interspeech 2024.  The paper's
hyper-parameters are not public; every default below is **our
reconstruction** (docs/sparsity.md):

* masks on all Linear/Conv weights except the output layers, one logit per
  weight, ``phi_init = 0``, soft mask ``2 * sigmoid(l * phi)`` (initially 1);
* penalty ``lambda * 1^T phi`` with the pull per logit measured in units of
  the RMS task gradient a logit meets at the threshold
  (``penalty_normalize: threshold_rms``), so ``lambda`` means the same at
  every model size and does not vanish when the soft mask saturates;
  ``lambda`` as below;
* soft temperature annealed exponentially per epoch from 1 to 200 over the
  search phase (at most 10 epochs); hard decision ``phi > 0``;
* frozen when fewer than 0.1 % of the hard decisions flip per epoch for 2
  consecutive epochs once the search has moved (at least 1 % of the
  decisions changed), or at the end of epoch 10, whichever first;
* ``dense`` continuation (switch to ``{name: sparse}`` for the sparse
  continuation); pruned weights restart from 0.
"""

from typing import Any, Dict, List

from msrs.sparse.search import SearchSparsity


class MSRSSparsity(SearchSparsity):
    """MSRS (registry key ``msrs``); options as :class:`SearchSparsity`."""

    method_name = "msrs"
    options = {"penalty_weight": 0.1}

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "search", "end": 10, "unit": "epoch"}, {"name": "dense"}]

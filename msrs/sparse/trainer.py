"""ESPnet trainer that drives the sparsity phase scheduler.

SCAFFOLD: delegates to ESPnet's ``Trainer``; the sparse-core work adds the
per-step/per-epoch hooks, reporting, gradient flow and mask re-binarisation.
"""

from espnet2.train.trainer import Trainer


class MsrsTrainer(Trainer):
    """ESPnet ``Trainer`` with sparsity hooks."""

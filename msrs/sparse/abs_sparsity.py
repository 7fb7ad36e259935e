"""Abstract base of every sparsity method (MSRS and the baselines).

SCAFFOLD: the interface below is the contract of docs/architecture.md; the
sparse-core work fills in the implementation.
"""

from abc import ABC, abstractmethod
from typing import Dict, Optional

import torch


class AbsSparsity(torch.nn.Module, ABC):
    """One object per model; owns the masks' schedule and state."""

    @abstractmethod
    def attach(self, model: torch.nn.Module) -> None:
        """Install masks on ``model`` and register as ``model.sparsity``."""

    def penalty(self) -> Optional[torch.Tensor]:
        """Scalar regulariser added to the training loss (``None``: no term)."""
        return None

    def epoch_stats(self) -> Dict[str, float]:
        """Per-epoch scalars for ESPnet's reporter."""
        return {}

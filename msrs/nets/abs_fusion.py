"""Abstract base of audio-visual fusion modules."""

from abc import ABC, abstractmethod
from typing import List, Tuple

import torch


class AbsFusion(torch.nn.Module, ABC):
    """Combine time-aligned per-modality features into one sequence.

    Implementations receive streams already aligned to the same length (the
    model trims off-by-a-few-frames differences before fusion).
    """

    @abstractmethod
    def output_size(self) -> int:
        """Features per frame of the fused sequence."""

    @abstractmethod
    def forward(
        self, xs: List[torch.Tensor], lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fuse streams.

        Args:
            xs: one ``(B, T, D_i)`` tensor per modality, in the order of the
                ``input_sizes`` given at construction (video first, then audio).
            lengths: ``(B,)`` valid frames (shared by all streams).

        Returns:
            ``(B, T, output_size())`` fused features and ``(B,)`` lengths.
        """

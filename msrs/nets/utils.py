"""Small tensor helpers shared by the msrs network modules."""

from typing import Optional

import torch


def lengths_to_mask(
    lengths: torch.Tensor, maxlen: Optional[int] = None
) -> torch.Tensor:
    """Boolean mask of valid steps.

    Args:
        lengths: ``(B,)`` integer lengths.
        maxlen: mask width (default ``lengths.max()``).

    Returns:
        ``(B, maxlen)`` bool, True where ``t < lengths[b]``.
    """
    if maxlen is None:
        maxlen = int(lengths.max()) if lengths.numel() else 0
    steps = torch.arange(maxlen, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def zero_padding(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the steps of ``x`` (``(B, T, ...)``) at or beyond ``lengths``."""
    mask = lengths_to_mask(lengths, x.size(1))
    return x * mask.view(*mask.shape, *([1] * (x.dim() - 2))).to(x.dtype)

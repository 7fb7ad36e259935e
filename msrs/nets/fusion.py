"""Audio-visual fusion modules (registry ``--fusion``: ``mlp``, ``concat``)."""

from typing import List, Optional, Tuple

import torch
from typeguard import typechecked

from msrs.nets.abs_fusion import AbsFusion
from msrs.nets.resnet import build_activation
from msrs.nets.utils import lengths_to_mask, zero_padding


def _check_inputs(xs: List[torch.Tensor], input_sizes: List[int]) -> None:
    if len(xs) != len(input_sizes):
        raise ValueError(f"fusion expects {len(input_sizes)} streams, got {len(xs)}")
    for i, (x, d) in enumerate(zip(xs, input_sizes)):
        if x.dim() != 3 or x.size(-1) != d:
            raise ValueError(
                f"fusion stream {i} must be (B, T, {d}), got {tuple(x.shape)}"
            )
        if x.shape[:2] != xs[0].shape[:2]:
            raise ValueError(
                f"fusion streams must share (B, T): {tuple(xs[0].shape[:2])} vs "
                f"{tuple(x.shape[:2])} (stream {i})"
            )


class MLPFusion(AbsFusion):
    """Concatenate, then ``Linear -> BatchNorm1d -> activation -> Linear``.

    Auto-AVSR's AV fusion (tag v1.0.0): ``Linear(1536 -> 8192)``, BatchNorm1d,
    ReLU, ``Linear(8192 -> 768)``.  BatchNorm statistics are computed over the
    valid frames only (our choice; padding is excluded).

    Args:
        input_sizes: features per stream, in stream order (video, audio).
        output_size: fused features per frame (768 in the paper).
        hidden_size: hidden width (8192 in the paper).
        activation: ``relu`` (paper), ``swish``, ``prelu`` or ``gelu``.
        dropout_rate: dropout after the activation (0 in the paper).
    """

    @typechecked
    def __init__(
        self,
        input_sizes: List[int],
        output_size: int = 768,
        hidden_size: int = 8192,
        activation: str = "relu",
        dropout_rate: float = 0.0,
    ):
        super().__init__()
        self.input_sizes = list(input_sizes)
        self._output_size = output_size
        self.linear1 = torch.nn.Linear(sum(input_sizes), hidden_size)
        self.norm = torch.nn.BatchNorm1d(hidden_size)
        self.activation = build_activation(activation, hidden_size)
        self.dropout = torch.nn.Dropout(dropout_rate)
        self.linear2 = torch.nn.Linear(hidden_size, output_size)

    def output_size(self) -> int:
        return self._output_size

    def forward(
        self, xs: List[torch.Tensor], lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """See :meth:`AbsFusion.forward`."""
        _check_inputs(xs, self.input_sizes)
        x = torch.cat(xs, dim=-1)
        mask = lengths_to_mask(lengths, x.size(1))
        h = self.linear1(x[mask])  # (N_valid, hidden)
        h = self.dropout(self.activation(self.norm(h)))
        out = x.new_zeros(x.size(0), x.size(1), self._output_size)
        out[mask] = self.linear2(h).to(out.dtype)
        return out, lengths


class ConcatFusion(AbsFusion):
    """Concatenate the streams, optionally followed by a linear projection.

    Args:
        input_sizes: features per stream, in stream order (video, audio).
        output_size: projection size; ``None`` keeps ``sum(input_sizes)``.
    """

    @typechecked
    def __init__(self, input_sizes: List[int], output_size: Optional[int] = None):
        super().__init__()
        self.input_sizes = list(input_sizes)
        total = sum(input_sizes)
        self.proj = None if output_size is None else torch.nn.Linear(total, output_size)
        self._output_size = total if output_size is None else output_size

    def output_size(self) -> int:
        return self._output_size

    def forward(
        self, xs: List[torch.Tensor], lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """See :meth:`AbsFusion.forward`."""
        _check_inputs(xs, self.input_sizes)
        x = torch.cat(xs, dim=-1)
        if self.proj is not None:
            x = zero_padding(self.proj(x), lengths)
        return x, lengths

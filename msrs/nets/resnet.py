"""ResNet building blocks shared by the video (2D) and audio (1D) frontends.

A trunk is four stages of basic blocks (ResNet-18: ``blocks=[2, 2, 2, 2]``)
with strides 1, 2, 2, 2.  Widths are configurable so a tiny CPU model
(e.g. ``[4, 8, 16, 32]``) and the paper-size model (``[64, 128, 256, 512]``)
share one implementation.
"""

from typing import List, Optional

import torch

from msrs.nets.utils import lengths_to_mask

ACTIVATIONS = ("swish", "relu", "prelu", "gelu")


def build_activation(name: str, channels: int = 1) -> torch.nn.Module:
    """Return a fresh activation module.

    Args:
        name: one of ``swish`` (SiLU, Auto-AVSR's choice), ``relu``,
            ``prelu`` (per channel), ``gelu``.
        channels: number of PReLU parameters.
    """
    if name == "swish":
        return torch.nn.SiLU()
    if name == "relu":
        return torch.nn.ReLU()
    if name == "prelu":
        return torch.nn.PReLU(num_parameters=channels)
    if name == "gelu":
        return torch.nn.GELU()
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _conv(dims: int):
    return torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d


def _bn(dims: int):
    return torch.nn.BatchNorm1d if dims == 1 else torch.nn.BatchNorm2d


class BasicBlock(torch.nn.Module):
    """Two 3-tap (1D) or 3x3 (2D) convolutions with an identity/projection shortcut.

    Args:
        dims: 1 for ``(N, C, L)`` inputs, 2 for ``(N, C, H, W)`` inputs.
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first convolution (and of the projection).
        activation: activation name (see :func:`build_activation`).
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        activation: str = "swish",
    ):
        super().__init__()
        conv, bn = _conv(dims), _bn(dims)
        self.conv1 = conv(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = bn(out_channels)
        self.act1 = build_activation(activation, out_channels)
        self.conv2 = conv(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = bn(out_channels)
        self.act2 = build_activation(activation, out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = torch.nn.Sequential(
                conv(in_channels, out_channels, 1, stride, bias=False), bn(out_channels)
            )
        else:
            self.downsample = None

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x: ``(N, C_in, L)`` or ``(N, C_in, H, W)``.
            mask: optional ``(N, 1, L_out)`` 0/1 mask of valid output steps
                (1D): activations beyond each length are zeroed inside and after
                the block, so padding never leaks into valid steps.

        Returns:
            ``(N, C_out, ceil(L / stride))`` or the 2D equivalent.
        """
        residual = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        if mask is not None:
            out = out * mask
        out = self.act2(self.bn2(self.conv2(out)) + residual)
        return out if mask is None else out * mask


class ResNetTrunk(torch.nn.Module):
    """Four stages of :class:`BasicBlock` with strides 1, 2, 2, 2.

    Args:
        dims: 1 or 2 (see :class:`BasicBlock`).
        in_channels: channels of the stem output.
        channels: output channels of each stage (4 values).
        blocks: number of blocks in each stage (4 values; ResNet-18 is 2-2-2-2).
        activation: activation name.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        channels: List[int],
        blocks: List[int],
        activation: str = "swish",
    ):
        super().__init__()
        if len(channels) != 4 or len(blocks) != 4:
            raise ValueError(
                f"channels and blocks need 4 stages each, got {channels} and {blocks}"
            )
        if min(channels) < 1 or min(blocks) < 1:
            raise ValueError(f"channels {channels} and blocks {blocks} must be >= 1")
        layers = []
        prev = in_channels
        for stage, (ch, n) in enumerate(zip(channels, blocks)):
            stride = 1 if stage == 0 else 2
            for i in range(n):
                layers.append(
                    BasicBlock(dims, prev, ch, stride if i == 0 else 1, activation)
                )
                prev = ch
        self.layers = torch.nn.Sequential(*layers)
        self.out_channels = prev

    def forward(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """``(N, C, ...) -> (N, channels[-1], ...)`` downsampled 8x per axis.

        Args:
            x: ``(N, C, L)`` or ``(N, C, H, W)``.
            lengths: 1D only: ``(N,)`` valid steps of ``x``; padding is then
                masked after every convolution (batch-size independent output).
        """
        if lengths is None:
            return self.layers(x)
        for block in self.layers:
            stride = block.conv1.stride[0]
            lengths = torch.div(lengths + stride - 1, stride, rounding_mode="floor")
            x = block(
                x,
                lengths_to_mask(lengths, -(-x.size(-1) // stride))
                .unsqueeze(1)
                .to(x.dtype),
            )
        return x


def init_resnet_weights(module: torch.nn.Module) -> None:
    """Kaiming-normal conv weights, unit BN scale and zero BN shift (our choice)."""
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(
            m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
        ):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)

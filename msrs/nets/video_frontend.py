"""Lip-reading frontend: 3D convolution stem + per-frame 2D ResNet-18 trunk."""

from typing import List, Tuple

import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from typeguard import typechecked

from msrs.nets.resnet import ResNetTrunk, build_activation, init_resnet_weights
from msrs.nets.utils import lengths_to_mask


class VideoResNetFrontend(AbsFrontend):
    """Mouth-ROI frames to one feature vector per frame (registry key ``resnet``).

    Architecture (Auto-AVSR / Ma et al.): ``Conv3d(1 -> C, kernel 5x7x7,
    stride 1x2x2, padding 2x3x3)`` + BatchNorm3d + activation +
    ``MaxPool3d(1x3x3, stride 1x2x2)``, then a 2D ResNet trunk applied to every
    frame (basic blocks, strides 1-2-2-2) and global average pooling.  With the
    default widths an 88x88 crop gives 512 features per frame at 25 frames/s;
    the frame rate is unchanged.

    Pixels are normalised inside the module: ``(x / pixel_scale - mean) / std``
    (Auto-AVSR's 0.421 / 0.165).  Padded frames are zeroed after
    normalisation so a padded batch matches utterance-by-utterance results in
    eval mode, and the 2D trunk runs on valid frames only (our choice: it saves
    compute and keeps padding out of the BatchNorm2d statistics).

    Args:
        stem_channels: output channels of the 3D stem (64 in the paper).
        channels: widths of the four ResNet stages (paper: 64-128-256-512).
        blocks: basic blocks per stage (ResNet-18: 2-2-2-2).
        activation: ``swish`` (paper), ``relu``, ``prelu`` or ``gelu``.
        mean: pixel mean after scaling to 0..1.
        std: pixel standard deviation after scaling to 0..1.
        pixel_scale: value of a white pixel in the input (255 for uint8 data).

    Examples:
        >>> fe = VideoResNetFrontend(stem_channels=4, channels=[4, 8, 16, 32])
        >>> feats, lens = fe(torch.rand(2, 10, 32, 32) * 255, torch.tensor([10, 7]))
        >>> feats.shape
        torch.Size([2, 10, 32])
    """

    @typechecked
    def __init__(
        self,
        stem_channels: int = 64,
        channels: List[int] = [64, 128, 256, 512],
        blocks: List[int] = [2, 2, 2, 2],
        activation: str = "swish",
        mean: float = 0.421,
        std: float = 0.165,
        pixel_scale: float = 255.0,
    ):
        super().__init__()
        if std <= 0 or pixel_scale <= 0:
            raise ValueError(f"std ({std}) and pixel_scale ({pixel_scale}) must be > 0")
        self.mean = mean
        self.std = std
        self.pixel_scale = pixel_scale
        self.stem = torch.nn.Sequential(
            torch.nn.Conv3d(
                1, stem_channels, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False
            ),
            torch.nn.BatchNorm3d(stem_channels),
            build_activation(activation, stem_channels),
            torch.nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.trunk = ResNetTrunk(2, stem_channels, channels, blocks, activation)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self._output_size = self.trunk.out_channels
        init_resnet_weights(self)

    def output_size(self) -> int:
        """Features per frame."""
        return self._output_size

    def forward(
        self, input: torch.Tensor, input_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode gray frames.

        Args:
            input: ``(B, T, H, W)`` float pixels in ``0..pixel_scale``
                (``(B, T, H, W, 1)`` is accepted too).
            input_lengths: ``(B,)`` valid frames per utterance.

        Returns:
            ``(B, T, D)`` features (zeros at padded frames) and ``(B,)`` lengths.
        """
        if input.dim() == 5 and input.size(-1) == 1:
            input = input.squeeze(-1)
        if input.dim() != 4:
            raise ValueError(
                f"video frontend expects (B, T, H, W) frames, got shape "
                f"{tuple(input.shape)}"
            )
        # NOTE(msrs): the collate pads to the longest item; crop to the batch max.
        input = input[:, : int(input_lengths.max())]
        b, t = input.shape[:2]
        mask = lengths_to_mask(input_lengths, t)  # (B, T) True at valid frames
        x = (input / self.pixel_scale - self.mean) / self.std
        x = x * mask[:, :, None, None].to(x.dtype)
        x = self.stem(x.unsqueeze(1))  # (B, C, T, H', W')
        x = x.transpose(1, 2)  # (B, T, C, H', W')
        frames = self.pool(self.trunk(x[mask])).flatten(1)  # (N_valid, D)
        out = frames.new_zeros(b, t, frames.size(-1))
        out[mask] = frames
        return out, input_lengths

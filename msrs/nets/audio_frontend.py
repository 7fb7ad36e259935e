"""Raw-waveform audio frontend: 1D ResNet-18 producing 25 frames per second."""

from typing import List, Tuple

import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from typeguard import typechecked

from msrs.nets.resnet import ResNetTrunk, build_activation, init_resnet_weights
from msrs.nets.utils import lengths_to_mask


class AudioResNet1DFrontend(AbsFrontend):
    """16 kHz waveform to one feature vector per video frame (key ``resnet1d``).

    Architecture (Auto-AVSR's audio frontend): ``Conv1d(1 -> C, kernel 80,
    stride 4)`` + BatchNorm1d + activation, a 1D ResNet trunk (basic blocks,
    strides 1-2-2-2: total stride 32) and average pooling over
    ``samples_per_frame / 32`` steps, so 640 samples (40 ms at 16 kHz) give one
    frame and audio frames align with 25 fps video frames.  Inputs are cut to a
    whole number of frames (``lengths // samples_per_frame``).

    With ``normalize_waveform`` (default) each utterance is standardised over
    its valid samples (zero mean, unit variance), as Auto-AVSR's per-utterance
    layer norm.  Padding is zeroed after every convolution, so in eval mode a
    padded batch gives the same features as one utterance at a time.

    Args:
        stem_channels: output channels of the stem convolution (64 in the paper).
        channels: widths of the four ResNet stages (paper: 64-128-256-512).
        blocks: basic blocks per stage (ResNet-18: 2-2-2-2).
        activation: ``swish`` (paper), ``relu``, ``prelu`` or ``gelu``.
        stem_kernel: stem kernel in samples (80 = 5 ms).
        stem_stride: stem stride in samples.
        samples_per_frame: samples per output frame (640 = 16000 / 25).
        normalize_waveform: per-utterance standardisation of the input.

    Examples:
        >>> fe = AudioResNet1DFrontend(stem_channels=4, channels=[4, 8, 16, 32])
        >>> feats, lens = fe(torch.randn(2, 6400), torch.tensor([6400, 3000]))
        >>> feats.shape, lens.tolist()
        (torch.Size([2, 10, 32]), [10, 4])
    """

    @typechecked
    def __init__(
        self,
        stem_channels: int = 64,
        channels: List[int] = [64, 128, 256, 512],
        blocks: List[int] = [2, 2, 2, 2],
        activation: str = "swish",
        stem_kernel: int = 80,
        stem_stride: int = 4,
        samples_per_frame: int = 640,
        normalize_waveform: bool = True,
    ):
        super().__init__()
        total_stride = stem_stride * 8
        if (stem_kernel - stem_stride) % 2 or stem_kernel < stem_stride:
            raise ValueError(
                f"stem_kernel - stem_stride must be even and >= 0, got "
                f"{stem_kernel} - {stem_stride}"
            )
        if samples_per_frame % total_stride:
            raise ValueError(
                f"samples_per_frame ({samples_per_frame}) must be a multiple of the "
                f"total stride 8 * stem_stride = {total_stride}"
            )
        self.samples_per_frame = samples_per_frame
        self.stem_stride = stem_stride
        self.normalize_waveform = normalize_waveform
        self.stem = torch.nn.Sequential(
            torch.nn.Conv1d(
                1,
                stem_channels,
                stem_kernel,
                stem_stride,
                (stem_kernel - stem_stride) // 2,
                bias=False,
            ),
            torch.nn.BatchNorm1d(stem_channels),
            build_activation(activation, stem_channels),
        )
        self.trunk = ResNetTrunk(1, stem_channels, channels, blocks, activation)
        pool = samples_per_frame // total_stride
        self.pool = torch.nn.AvgPool1d(pool, pool)
        self._output_size = self.trunk.out_channels
        init_resnet_weights(self)

    def output_size(self) -> int:
        """Features per frame."""
        return self._output_size

    def forward(
        self, input: torch.Tensor, input_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of waveforms.

        Args:
            input: ``(B, S)`` float samples (``(B, S, 1)`` is accepted too).
            input_lengths: ``(B,)`` valid samples per utterance.

        Returns:
            ``(B, T, D)`` features with ``T = max(lengths) // samples_per_frame``
            (zeros beyond each length) and ``(B,)`` frame counts.
        """
        if input.dim() == 3 and input.size(-1) == 1:
            input = input.squeeze(-1)
        if input.dim() != 2:
            raise ValueError(
                f"audio frontend expects (B, S) samples, got shape {tuple(input.shape)}"
            )
        spf = self.samples_per_frame
        frames = torch.div(input_lengths, spf, rounding_mode="floor")
        t = int(frames.max())
        x = input[:, : t * spf]
        if x.size(1) < t * spf:
            x = torch.nn.functional.pad(x, (0, t * spf - x.size(1)))
        valid = lengths_to_mask(frames * spf, t * spf).to(x.dtype)  # (B, S')
        if self.normalize_waveform:
            count = valid.sum(1, keepdim=True).clamp(min=1.0)
            mean = (x * valid).sum(1, keepdim=True) / count
            var = (((x - mean) * valid) ** 2).sum(1, keepdim=True) / count
            x = (x - mean) / torch.sqrt(var + 1e-5)
        x = x * valid
        x = self.stem(x.unsqueeze(1))  # (B, C, S' / stem_stride)
        stem_lengths = frames * (spf // self.stem_stride)
        x = x * lengths_to_mask(stem_lengths, x.size(-1)).unsqueeze(1).to(x.dtype)
        x = self.pool(self.trunk(x, stem_lengths))  # (B, D, T)
        x = x.transpose(1, 2)
        x = x * lengths_to_mask(frames, x.size(1)).unsqueeze(-1).to(x.dtype)
        return x, frames

"""Tests of msrs.nets.audio_frontend.AudioResNet1DFrontend."""

import pytest
import torch

from msrs.nets.audio_frontend import AudioResNet1DFrontend

TINY = dict(stem_channels=4, channels=[4, 8, 8, 16], blocks=[1, 1, 1, 1])


def test_640_samples_per_frame_and_lengths():
    fe = AudioResNet1DFrontend(**TINY)
    x = torch.randn(3, 640 * 12 + 100)
    lengths = torch.tensor([640 * 12 + 100, 640 * 5, 639])
    out, frames = fe(x, lengths)
    assert frames.tolist() == [12, 5, 0]
    assert out.shape == (3, 12, 16)
    assert torch.all(out[1, 5:] == 0) and torch.all(out[2] == 0)
    out.sum().backward()
    assert fe.stem[0].weight.grad.abs().sum() > 0


def test_padded_batch_matches_single_utterance_in_eval():
    fe = AudioResNet1DFrontend(**TINY).eval()
    a, b = torch.randn(1, 640 * 6), torch.randn(1, 640 * 3)
    batch = torch.zeros(2, 640 * 6)
    batch[0], batch[1, : 640 * 3] = a[0], b[0]
    batch[1, 640 * 3 :] = 5.0
    out, _ = fe(batch, torch.tensor([640 * 6, 640 * 3]))
    single, _ = fe(b, torch.tensor([640 * 3]))
    torch.testing.assert_close(out[1, :3], single[0], rtol=1e-4, atol=1e-5)


def test_waveform_normalisation_makes_gain_irrelevant():
    fe = AudioResNet1DFrontend(**TINY).eval()
    x = torch.randn(1, 640 * 4)
    y1, _ = fe(x, torch.tensor([640 * 4]))
    y2, _ = fe(10 * x + 0.5, torch.tensor([640 * 4]))
    torch.testing.assert_close(y1, y2, rtol=1e-3, atol=1e-4)
    raw = AudioResNet1DFrontend(**TINY, normalize_waveform=False).eval()
    z1, _ = raw(x, torch.tensor([640 * 4]))
    z2, _ = raw(10 * x, torch.tensor([640 * 4]))
    assert not torch.allclose(z1, z2)


def test_paper_size_and_bad_configuration():
    fe = AudioResNet1DFrontend()
    assert fe.output_size() == 512
    n = sum(p.numel() for p in fe.parameters())
    assert 3.8e6 < n < 3.9e6  # Auto-AVSR's audio frontend: 3.85 M
    with pytest.raises(ValueError, match="multiple of the total stride"):
        AudioResNet1DFrontend(samples_per_frame=600)
    with pytest.raises(ValueError, match="must be even"):
        AudioResNet1DFrontend(stem_kernel=81)
    with pytest.raises(ValueError, match=r"expects \(B, S\)"):
        AudioResNet1DFrontend(**TINY)(torch.randn(1, 2, 3, 4), torch.tensor([3]))

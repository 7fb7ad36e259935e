"""Tests of msrs.nets.video_frontend.VideoResNetFrontend."""

import pytest
import torch

from msrs.nets.video_frontend import VideoResNetFrontend

TINY = dict(stem_channels=4, channels=[4, 8, 8, 16], blocks=[1, 1, 1, 1])


def test_tiny_forward_backward_shapes_and_zeroed_padding():
    fe = VideoResNetFrontend(**TINY)
    assert fe.output_size() == 16
    x = torch.rand(2, 9, 28, 28) * 255
    lengths = torch.tensor([9, 5])
    out, out_lens = fe(x, lengths)
    assert out.shape == (2, 9, 16)
    assert out_lens.tolist() == [9, 5]
    assert torch.all(out[1, 5:] == 0)
    assert torch.any(out[1, :5] != 0)
    out.sum().backward()
    grads = [p.grad for p in fe.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert fe.stem[0].weight.grad.abs().sum() > 0


def test_padded_batch_matches_single_utterance_in_eval():
    fe = VideoResNetFrontend(**TINY).eval()
    a = torch.rand(1, 7, 24, 24) * 255
    b = torch.rand(1, 4, 24, 24) * 255
    batch = torch.zeros(2, 7, 24, 24)
    batch[0], batch[1, :4] = a[0], b[0]
    batch[1, 4:] = 123.0  # garbage in the padding must not leak
    out, _ = fe(batch, torch.tensor([7, 4]))
    single, _ = fe(b, torch.tensor([4]))
    torch.testing.assert_close(out[1, :4], single[0], rtol=1e-4, atol=1e-5)


def test_paper_size_defaults_give_512_features():
    fe = VideoResNetFrontend()
    assert fe.output_size() == 512
    assert fe.stem[0].kernel_size == (5, 7, 7) and fe.stem[0].stride == (1, 2, 2)
    n = sum(p.numel() for p in fe.parameters())
    assert 11.0e6 < n < 11.5e6  # ResNet-18 trunk + 3D stem (Auto-AVSR: 11.18 M)


def test_trailing_channel_axis_is_accepted_and_bad_shapes_rejected():
    fe = VideoResNetFrontend(**TINY).eval()
    out, _ = fe(torch.rand(1, 3, 20, 20, 1) * 255, torch.tensor([3]))
    assert out.shape == (1, 3, 16)
    with pytest.raises(ValueError, match=r"expects \(B, T, H, W\)"):
        fe(torch.rand(1, 3, 20), torch.tensor([3]))
    with pytest.raises(ValueError, match="std"):
        VideoResNetFrontend(std=0.0)
    with pytest.raises(ValueError, match="4 stages"):
        VideoResNetFrontend(channels=[4, 8, 16])

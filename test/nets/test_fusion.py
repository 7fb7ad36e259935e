"""Tests of msrs.nets.fusion (MLP and concatenation fusion)."""

import pytest
import torch

from msrs.nets.abs_fusion import AbsFusion
from msrs.nets.fusion import ConcatFusion, MLPFusion


def test_mlp_fusion_shapes_grads_and_padding():
    fusion = MLPFusion([6, 4], output_size=5, hidden_size=16)
    assert isinstance(fusion, AbsFusion) and fusion.output_size() == 5
    v, a = torch.randn(2, 7, 6, requires_grad=True), torch.randn(2, 7, 4)
    out, lens = fusion([v, a], torch.tensor([7, 3]))
    assert out.shape == (2, 7, 5) and lens.tolist() == [7, 3]
    assert torch.all(out[1, 3:] == 0)
    out.sum().backward()
    assert v.grad.abs().sum() > 0 and fusion.linear1.weight.grad is not None


def test_mlp_fusion_batchnorm_ignores_padding_content():
    fusion = MLPFusion([3, 3], output_size=4, hidden_size=8).train()
    v, a = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 2])
    out1, _ = fusion([v, a], lengths)
    v2 = v.clone()
    v2[1, 2:] = 100.0  # padding content changes
    out2, _ = fusion([v2, a], lengths)
    torch.testing.assert_close(out1, out2)


def test_paper_size_mlp_fusion():
    fusion = MLPFusion([768, 768])
    assert fusion.linear1.in_features == 1536 and fusion.linear1.out_features == 8192
    assert fusion.linear2.out_features == 768 and isinstance(
        fusion.norm, torch.nn.BatchNorm1d
    )


def test_concat_fusion_with_and_without_projection():
    v, a = torch.randn(2, 4, 3), torch.randn(2, 4, 2)
    lengths = torch.tensor([4, 1])
    out, _ = ConcatFusion([3, 2])([v, a], lengths)
    torch.testing.assert_close(out, torch.cat([v, a], -1))
    proj = ConcatFusion([3, 2], output_size=6)
    assert proj.output_size() == 6
    out, _ = proj([v, a], lengths)
    assert out.shape == (2, 4, 6) and torch.all(out[1, 1:] == 0)


def test_fusion_input_errors():
    fusion = ConcatFusion([3, 2])
    with pytest.raises(ValueError, match="expects 2 streams"):
        fusion([torch.randn(1, 2, 3)], torch.tensor([2]))
    with pytest.raises(ValueError, match=r"stream 1 must be \(B, T, 2\)"):
        fusion([torch.randn(1, 2, 3), torch.randn(1, 2, 5)], torch.tensor([2]))
    with pytest.raises(ValueError, match="must share"):
        fusion([torch.randn(1, 2, 3), torch.randn(1, 3, 2)], torch.tensor([2]))

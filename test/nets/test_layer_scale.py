"""Tests of msrs.nets.layer_scale on ESPnet's encoders."""

import copy

import pytest
import torch
from espnet2.asr.encoder.branchformer_encoder import BranchformerEncoder
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.rnn_encoder import RNNEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

from msrs.nets.layer_scale import LayerScale, apply_layer_scale, cait_init

SMALL = dict(
    output_size=16,
    attention_heads=2,
    num_blocks=2,
    input_layer="linear",
    dropout_rate=0.0,
    positional_dropout_rate=0.0,
)


def _encoders():
    return {
        "conformer": (
            ConformerEncoder(
                8,
                linear_units=32,
                macaron_style=True,
                cnn_module_kernel=5,
                rel_pos_type="latest",
                pos_enc_layer_type="rel_pos",
                selfattention_layer_type="rel_selfattn",
                **SMALL
            ),
            4,
        ),
        "transformer": (TransformerEncoder(8, linear_units=32, **SMALL), 2),
        "e_branchformer": (
            EBranchformerEncoder(
                8,
                cgmlp_linear_units=32,
                cgmlp_conv_kernel=5,
                use_ffn=True,
                macaron_ffn=True,
                linear_units=32,
                **SMALL
            ),
            3,
        ),
        "branchformer": (
            BranchformerEncoder(8, cgmlp_linear_units=32, cgmlp_conv_kernel=5, **SMALL),
            1,
        ),
    }


@pytest.mark.parametrize(
    "name", ["conformer", "transformer", "e_branchformer", "branchformer"]
)
def test_layer_scale_wraps_every_residual_branch_and_trains(name):
    encoder, per_layer = _encoders()[name]
    reference = copy.deepcopy(encoder).eval()
    info = apply_layer_scale(encoder, 16, init_value=1.0)
    assert info == {"depth": 2, "init_value": 1.0, "branches": 2 * per_layer}
    scales = [m for m in encoder.modules() if isinstance(m, LayerScale)]
    assert len(scales) == 2 * per_layer
    x, lengths = torch.randn(2, 6, 8), torch.tensor([6, 4])
    # gamma = 1 leaves the function unchanged ...
    encoder.eval()
    y, _, _ = encoder(x, lengths)
    y_ref, _, _ = reference(x, lengths)
    torch.testing.assert_close(y[0], y_ref[0], rtol=1e-5, atol=1e-5)
    # ... and a different gamma changes it; gamma gets gradients.
    with torch.no_grad():
        for m in scales:
            m.gamma.fill_(0.1)
    encoder.train()
    y, _, _ = encoder(x, lengths)
    assert not torch.allclose(y[0], y_ref[0], atol=1e-3)
    (y * torch.randn_like(y)).sum().backward()  # plain sum is flat after LayerNorm
    assert all(
        m.gamma.grad is not None and m.gamma.grad.abs().sum() > 0 for m in scales
    )


def test_cait_depth_rule_is_the_default_init():
    assert cait_init(12) == 0.1 and cait_init(18) == 0.1
    assert cait_init(24) == 1e-5 and cait_init(36) == 1e-6
    encoder, _ = _encoders()["transformer"]
    info = apply_layer_scale(encoder, 16)
    assert info["init_value"] == 0.1
    gammas = [m.gamma for m in encoder.modules() if isinstance(m, LayerScale)]
    assert all(torch.all(g == 0.1) for g in gammas)
    names = [n for n, _ in encoder.named_parameters()]
    assert "encoders.0.self_attn.gamma" in names
    assert "encoders.0.self_attn.branch.linear_q.weight" in names


def test_unsupported_or_double_application_is_an_error():
    rnn = RNNEncoder(8, num_layers=1, hidden_size=8, output_size=8)
    with pytest.raises(ValueError, match="no 'encoders' layer stack"):
        apply_layer_scale(rnn, 8)
    encoder, _ = _encoders()["transformer"]
    apply_layer_scale(encoder, 16)
    with pytest.raises(ValueError, match="already wrapped"):
        apply_layer_scale(encoder, 16)
    stack = torch.nn.Module()
    stack.encoders = torch.nn.ModuleList([torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="unsupported encoder layer .*Linear"):
        apply_layer_scale(stack, 2)

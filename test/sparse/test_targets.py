import pytest
import torch

from msrs.sparse.targets import layer_group, select_targets
from sparse_toy import ToyModel


def test_default_targets_are_linear_and_conv_weights_without_output_layer():
    names = [t.name for t in select_targets(ToyModel())]
    assert names == ["enc.0.weight", "enc.3.weight", "conv.weight"]


def test_espnet_conformer_targets_exclude_ctc_output_embeddings_norms():
    from msrs.utils.espnet_import import import_espnet

    import_espnet("espnet2.tasks.asr")
    from espnet2.asr.decoder.transformer_decoder import TransformerDecoder
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = ConformerEncoder(8, output_size=16, attention_heads=2, linear_units=16, num_blocks=1,
                                            cnn_module_kernel=3)
            self.decoder = TransformerDecoder(5, 16, attention_heads=2, linear_units=16, num_blocks=1)
            self.ctc = torch.nn.Module()
            self.ctc.ctc_lo = torch.nn.Linear(16, 5)

    names = [t.name for t in select_targets(M())]
    assert "encoder.embed.conv.0.weight" in names  # the conv2d frontend of the encoder
    assert "encoder.encoders.0.conv_module.depthwise_conv.weight" in names
    assert "decoder.decoders.0.src_attn.linear_q.weight" in names
    assert not [n for n in names if "ctc" in n or "output_layer" in n or "embed.0" in n or "norm" in n]
    assert all(n.endswith(".weight") for n in names)


def test_include_exclude_and_module_types():
    m = ToyModel()
    assert [t.name for t in select_targets(m, include=[r"enc\..*"])] == ["enc.0.weight", "enc.3.weight"]
    # exclude replaces the default list (which drops the output layer)
    assert [t.name for t in select_targets(m, exclude=[r"enc\.0\..*"])] == ["enc.3.weight", "conv.weight", "output_layer.weight"]
    assert [t.name for t in select_targets(m, module_types=["conv1d"])] == ["conv.weight"]
    assert "output_layer.weight" in [t.name for t in select_targets(m, exclude=[])]


def test_selection_errors_name_the_option():
    m = ToyModel()
    with pytest.raises(ValueError, match="module_types"):
        select_targets(m, module_types=["lstm"])
    with pytest.raises(ValueError, match="include"):
        select_targets(m, include=["("])
    with pytest.raises(ValueError, match="no parameter matches"):
        select_targets(m, include=["nothing"])


def test_layer_group():
    assert layer_group("encoder.encoders.3.feed_forward.w_1.weight") == "encoder.encoders.3"
    assert layer_group("conv.weight") == "conv"

"""Tests of msrs.nets.avsr_model.ESPnetAVSRModel (built through AVSRTask)."""

import pytest
import torch

from msrs.nets.avsr_model import ESPnetAVSRModel
from msrs.nets.fusion import ConcatFusion
from msrs.nets.layer_scale import LayerScale
from msrs.tasks.avsr import AVSRTask
from msrs.tasks.avsr_testing import parse_config, random_batch, tiny_config


def build(modality, **overrides):
    return AVSRTask.build_model(parse_config(tiny_config(modality, **overrides)))


def _step(model, batch):
    loss, stats, weight = model(**batch)
    assert torch.isfinite(loss) and int(weight) == batch["text"].size(0)
    assert {"loss", "loss_ctc", "loss_att", "acc"} <= set(stats)
    loss.backward()
    return loss, stats


@pytest.mark.parametrize(
    "modality,model_conf,submodules",
    [
        ("vsr", {}, {"video_frontend", "encoder"}),
        ("asr", {}, {"audio_frontend", "encoder"}),
        (
            "avsr",
            {},
            {"video_frontend", "audio_frontend", "encoder", "audio_encoder", "fusion"},
        ),
        (
            "avsr",
            {"fusion_stage": "early"},
            {"video_frontend", "audio_frontend", "encoder", "fusion"},
        ),
        (
            "avsr",
            {"share_encoder": True},
            {"video_frontend", "audio_frontend", "encoder", "fusion"},
        ),
    ],
)
def test_forward_backward_every_layout(modality, model_conf, submodules):
    model = build(modality, model_conf=dict(ctc_weight=0.3, **model_conf))
    assert isinstance(model, ESPnetAVSRModel) and model.modality == modality
    present = {
        n
        for n in (
            "video_frontend",
            "audio_frontend",
            "encoder",
            "audio_encoder",
            "fusion",
        )
        if getattr(model, n) is not None
    }
    assert present == submodules
    _step(model, random_batch(modality))
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []


def test_hybrid_loss_weights_and_label_smoothing_defaults():
    model = build("vsr", model_conf={})
    assert model.ctc_weight == 0.1 and model.criterion_att.smoothing == 0.1
    batch = random_batch("vsr")
    loss, stats = _step(model, batch)
    expected = 0.1 * stats["loss_ctc"] + 0.9 * stats["loss_att"]
    torch.testing.assert_close(loss.detach(), expected)


def test_ctc_only_model_has_no_decoder():
    model = build("vsr", decoder=None, model_conf=dict(ctc_weight=1.0))
    assert model.decoder is None
    loss, stats, _ = model(**random_batch("vsr"))
    assert "loss_att" not in stats and torch.isfinite(loss)


def test_streams_off_by_a_few_frames_are_aligned_and_larger_gaps_named():
    model = build("avsr").eval()
    batch = random_batch("avsr", lengths=(12, 9))
    batch["speech_lengths"] = batch["speech_lengths"] - 2 * 640  # 2 frames shorter
    enc, lens = model.encode(
        batch["speech"], batch["speech_lengths"], batch["video"], batch["video_lengths"]
    )
    assert lens.tolist() == [10, 7] and enc.shape[1] == 10
    batch["speech_lengths"][1] = 3 * 640
    with pytest.raises(ValueError, match=r"'utt1': video has 9 frames but audio 3"):
        model(**batch)


def test_missing_stream_and_zero_length_are_clear_errors():
    model = build("avsr")
    batch = random_batch("avsr")
    with pytest.raises(ValueError, match="needs the 'speech' input"):
        model(
            text=batch["text"],
            text_lengths=batch["text_lengths"],
            video=batch["video"],
            video_lengths=batch["video_lengths"],
        )
    batch["video_lengths"][0] = 0
    with pytest.raises(ValueError, match="'utt0': zero-length video stream"):
        model(**batch)
    batch = random_batch("asr")
    batch["speech_lengths"][1] = 100
    with pytest.raises(ValueError, match="'utt1': audio is shorter than one frame"):
        build("asr")(**batch)


def test_modality_dropout_and_drop_modality():
    model = build(
        "avsr", model_conf=dict(modality_dropout=1.0, modality_dropout_video_prob=1.0)
    )
    v, a = torch.ones(4, 3, 2), torch.ones(4, 3, 2)
    model.train()
    dv, da = model._drop_streams(v, a, None)
    assert torch.all(dv == 0) and torch.all(da == 1)
    model.eval()
    dv, da = model._drop_streams(v, a, None)
    assert torch.all(dv == 1)
    batch = random_batch("avsr")
    streams = {
        k: batch[k] for k in ("speech", "speech_lengths", "video", "video_lengths")
    }
    y1, _ = model.encode(**streams, drop_modality="video")
    streams["video"] = torch.rand_like(streams["video"]) * 255
    y2, _ = model.encode(**streams, drop_modality="video")
    torch.testing.assert_close(y1, y2)
    y3, _ = model.encode(**streams)
    assert not torch.allclose(y2, y3)
    with pytest.raises(ValueError, match="drop_modality"):
        model.encode(**streams, drop_modality="both")


def test_e_branchformer_concat_fusion_and_layer_scale_by_config_only():
    model = build(
        "avsr",
        encoder="e_branchformer",
        encoder_conf=dict(
            output_size=32,
            attention_heads=2,
            num_blocks=2,
            input_layer="linear",
            cgmlp_linear_units=64,
            cgmlp_conv_kernel=7,
            linear_units=64,
            use_ffn=True,
            macaron_ffn=True,
        ),
        fusion="concat",
        fusion_conf=dict(output_size=32),
        model_conf=dict(layer_scale=True),
    )
    assert type(model.encoder).__name__ == "EBranchformerEncoder"
    assert type(model.audio_encoder).__name__ == "EBranchformerEncoder"
    assert isinstance(model.fusion, ConcatFusion)
    scales = [m for m in model.modules() if isinstance(m, LayerScale)]
    assert len(scales) == 2 * 2 * 3  # 2 encoders x 2 layers x (ffn, merge, ffn)
    assert all(torch.all(s.gamma == 0.1) for s in scales)  # CaiT init for depth 2
    _step(model, random_batch("avsr"))


def test_audio_encoder_conf_overrides_single_keys_of_the_encoder_conf():
    model = build("avsr", audio_encoder_conf=dict(num_blocks=2))
    assert len(model.encoder.encoders) == 1 and len(model.audio_encoder.encoders) == 2
    model = build(
        "avsr",
        audio_encoder="transformer",
        audio_encoder_conf=dict(
            output_size=16,
            attention_heads=2,
            linear_units=32,
            num_blocks=1,
            input_layer="linear",
        ),
    )
    assert type(model.audio_encoder).__name__ == "TransformerEncoder"
    assert model.fusion.linear1.in_features == 32 + 16
    _step(model, random_batch("avsr"))


def test_log_mel_audio_frontend_for_asr():
    model = build(
        "asr",
        audio_frontend="default",
        audio_frontend_conf=dict(n_fft=512, hop_length=160, n_mels=20),
        normalize="utterance_mvn",
        encoder_conf=dict(tiny_config()["encoder_conf"], input_layer="conv2d"),
    )
    batch = random_batch("asr", lengths=(12, 10))
    _step(model, batch)
    feats = model.collect_feats(**batch)
    assert feats["feats"].shape[-1] == 20

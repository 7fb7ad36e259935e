"""End-to-end: train (ESPnet trainer), resume, average and decode tiny models."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from msrs.bin import avsr_inference, avsr_train
from msrs.tasks.avsr_testing import (
    TOKENS,
    tiny_config,
    train_command,
    write_tiny_corpus,
)


def _reporter(exp: Path):
    return torch.load(exp / "checkpoint.pth", weights_only=False)["reporter"]["stats"]


def _hyps(path: Path):
    rows = [line.split(maxsplit=1) for line in path.read_text().splitlines()]
    return {r[0]: (r[1] if len(r) > 1 else "") for r in rows}


@pytest.mark.slow
def test_vsr_collect_stats_train_resume_average_decode(tmp_path):
    corpus = write_tiny_corpus(tmp_path)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        yaml.safe_dump(
            tiny_config("vsr", max_epoch=1, num_att_plot=1, use_matplotlib=True)
        )
    )
    # a corrupt video: collect-stats skips it, so training never sees it
    bad_uid, bad_path = (corpus["train"] / "video.scp").read_text().split()[:2]
    Path(bad_path).write_bytes(b"corrupt")
    stats = tmp_path / "stats"
    avsr_train.main(
        train_command(corpus, cfg, stats, "vsr", extra=["--collect_stats", "true"])
    )
    shapes = dict(
        line.split()
        for line in (stats / "train" / "video_shape").read_text().splitlines()
    )
    assert len(shapes) == 15 and bad_uid not in shapes
    assert all(v.endswith(",28,28") for v in shapes.values())

    exp = tmp_path / "exp"
    avsr_train.main(train_command(corpus, cfg, exp, "vsr", shape_dir=stats))
    first = (exp / "1epoch.pth").stat().st_mtime_ns
    assert not (exp / "2epoch.pth").exists()
    avsr_train.main(
        train_command(
            corpus,
            cfg,
            exp,
            "vsr",
            shape_dir=stats,
            extra=["--resume", "true", "--max_epoch", "2"],
        )
    )
    assert (exp / "1epoch.pth").stat().st_mtime_ns == first  # epoch 1 was not redone
    assert (exp / "2epoch.pth").exists()
    rep = _reporter(exp)
    assert sorted(rep) == [1, 2]
    assert rep[2]["train"]["loss"] < rep[1]["train"]["loss"]
    assert rep[1]["train"]["skipped_utts"] == 0
    assert (exp / "valid.acc.ave.pth").exists()
    assert list(
        (exp / "att_ws").rglob("*.png")
    )  # attention plots went through our iterator

    out = tmp_path / "decode"
    avsr_inference.main(
        [
            "--output_dir",
            str(out),
            "--asr_train_config",
            str(exp / "config.yaml"),
            "--data_path_and_name_and_type",
            f"{corpus['valid']}/video.scp,video,video",
            "--beam_size",
            "3",
            "--num_workers",
            "0",
            "--batch_size",
            "2",
        ]
    )
    hyps = _hyps(out / "1best_recog" / "text")
    assert sorted(hyps) == sorted(_hyps(corpus["valid"] / "text"))
    tokens = _hyps(out / "1best_recog" / "token")
    ints = _hyps(out / "1best_recog" / "token_int")
    for uid, toks in tokens.items():
        assert [TOKENS[int(i)] for i in ints[uid].split()] == toks.split()
    assert (out / "failed_utts.txt").read_text() == ""


@pytest.mark.slow
def test_avsr_e_branchformer_trains_skipping_bad_utterances_and_decodes_noisy(tmp_path):
    corpus = write_tiny_corpus(tmp_path, sets=dict(train=14, valid=4), seed=1)
    train = corpus["train"]
    # two bad utterances: a corrupt video file, and audio much shorter than the video
    lines = (train / "video.scp").read_text().splitlines()
    bad_video = Path(lines[0].split()[1])
    bad_video.write_bytes(b"corrupt")
    wav_lines = (train / "wav.scp").read_text().splitlines()
    short_uid, short_wav = wav_lines[1].split()
    import soundfile

    soundfile.write(short_wav, np.zeros(640, dtype=np.float32), 16000)
    conf = tiny_config(
        "avsr",
        encoder="e_branchformer",
        encoder_conf=dict(
            output_size=32,
            attention_heads=2,
            num_blocks=1,
            input_layer="linear",
            cgmlp_linear_units=64,
            cgmlp_conv_kernel=7,
            linear_units=64,
            use_ffn=True,
            macaron_ffn=True,
        ),
        model_conf=dict(ctc_weight=0.3, modality_dropout=0.2, layer_scale=True),
        preprocessor_conf=dict(
            crop_size=28,
            video_time_mask_window=3,
            audio_time_mask_window=800,
            noise_file=str(corpus["noise"]),
            snr_choices=[0, 10, None],
        ),
    )
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(conf))
    from msrs.tasks.avsr_testing import write_shape_files

    for name in ("train", "valid"):
        write_shape_files(corpus[name], tmp_path / "stats" / name)
    exp = tmp_path / "exp"
    avsr_train.main(
        train_command(corpus, cfg, exp, "avsr", shape_dir=tmp_path / "stats")
    )
    rep = _reporter(exp)
    assert rep[2]["train"]["loss"] < rep[1]["train"]["loss"]
    assert rep[1]["train"]["skipped_utts"] == 2 and rep[2]["train"]["skipped_utts"] == 2
    assert rep[1]["valid"]["skipped_utts"] == 0
    skipped = (exp / "skipped_utts.txt").read_text().splitlines()
    assert len(skipped) == 4
    bad_uid = lines[0].split()[0]
    assert any(s.startswith(f"1 train {bad_uid} MediaError") for s in skipped)
    assert any(
        s.startswith(f"2 train {short_uid} ValueError: {short_uid}: audio has 640")
        for s in skipped
    )
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["encoder"] == "e_branchformer"

    data = [
        "--data_path_and_name_and_type",
        f"{corpus['valid']}/video.scp,video,video",
        "--data_path_and_name_and_type",
        f"{corpus['valid']}/wav.scp,speech,sound",
    ]
    common = [
        "--asr_train_config",
        str(exp / "config.yaml"),
        "--beam_size",
        "2",
        "--num_workers",
        "0",
    ] + data
    noisy = avsr_inference.inference(
        output_dir=str(tmp_path / "dec_snr0"),
        data_path_and_name_and_type=[tuple(d.split(",")) for d in data[1::2]],
        asr_train_config=str(exp / "config.yaml"),
        beam_size=2,
        num_workers=0,
        snr=0.0,
    )
    assert noisy["utterances"] == 4 and noisy["failed"] == 0 and noisy["rtf"] > 0
    avsr_inference.main(
        common
        + ["--output_dir", str(tmp_path / "dec_novideo"), "--drop_modality", "video"]
    )
    for d in ("dec_snr0", "dec_novideo"):
        assert len(_hyps(tmp_path / d / "1best_recog" / "text")) == 4


@pytest.mark.slow
def test_msrs_sparsity_trains_and_the_average_decodes_with_hard_masks(tmp_path):
    from msrs.sparse import sparsity_choices

    if "msrs" not in sparsity_choices.classes:
        pytest.skip("msrs.sparse has no 'msrs' method yet")
    corpus = write_tiny_corpus(tmp_path, sets=dict(train=12, valid=4), seed=2)
    conf = tiny_config(
        "vsr",
        sparsity="msrs",
        sparsity_conf=dict(phases=[dict(name="search", end=1), dict(name="sparse")]),
    )
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(conf))
    from msrs.tasks.avsr_testing import write_shape_files

    for name in ("train", "valid"):
        write_shape_files(corpus[name], tmp_path / "stats" / name)
    exp = tmp_path / "exp"
    avsr_train.main(
        train_command(corpus, cfg, exp, "vsr", shape_dir=tmp_path / "stats")
    )
    rep = _reporter(exp)
    assert (
        "sparsity_penalty" in rep[1]["train"]
    )  # the penalty came from the sparsity hook

    decoder = avsr_inference.AVSRDecoder(
        asr_train_config=str(exp / "config.yaml"), beam_size=2
    )
    assert decoder.model is not None
    sparsity = decoder.model.sparsity
    assert sparsity.phase == "sparse"
    density = sparsity.global_density()
    assert 0.0 < density < 1.0
    for t in sparsity.targets:
        mask = getattr(t.module.parametrizations, t.tensor_name)[0].mask
        assert set(torch.unique(mask).tolist()) <= {0, 1}
        weight = getattr(t.module, t.tensor_name)
        assert torch.all(weight[mask.expand_as(weight) == 0] == 0)
    out = tmp_path / "decode"
    avsr_inference.main(
        [
            "--output_dir",
            str(out),
            "--asr_train_config",
            str(exp / "config.yaml"),
            "--data_path_and_name_and_type",
            f"{corpus['valid']}/video.scp,video,video",
            "--beam_size",
            "2",
            "--num_workers",
            "0",
        ]
    )
    assert len(_hyps(out / "1best_recog" / "text")) == 4

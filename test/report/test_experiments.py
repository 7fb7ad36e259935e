import pytest

from msrs.report.experiments import parse_condition, scan_exp, summarize_config


@pytest.mark.parametrize(
    "rel, expected",
    [
        ("decode_beam40_test", ("beam40_test", None)),
        ("decode_beam40_test_clean/score", ("beam40_test", None)),  # avsr.sh naming
        ("decode_beam40_test_snr5/score", ("beam40_test", 5.0)),
        ("decode_cleanup_test", ("cleanup_test", None)),
        ("decode_beam40_test_snr-5", ("beam40_test", -5.0)),
        ("decode_beam40_test_snrm5", ("beam40_test", -5.0)),
        ("decode_beam40_test_snr10db/score", ("beam40_test", 10.0)),
        ("decode_beam40/test/snr_0/score_wer", ("beam40/test", 0.0)),
        ("decode_asr_valid.acc.ave/test_snr2.5", ("asr_valid.acc.ave/test", 2.5)),
        (
            "decode_transnr5_test",
            ("transnr5_test", None),
        ),  # 'snr' inside a word is no SNR
        ("", ("default", None)),
    ],
)
def test_parse_condition(rel, expected):
    assert parse_condition(rel) == expected


def test_scan_fake_exp(fake_exp):
    runs, decodes = scan_exp(fake_exp)
    assert [r.name for r in runs] == ["avsr_dense", "avsr_msrs"]  # asr_stats skipped
    dense, msrs = runs
    assert msrs.stats_source.endswith("checkpoint.pth") and sorted(msrs.stats) == list(
        range(1, 7)
    )
    assert dense.stats_source.endswith("train.log") and sorted(dense.stats) == [1, 2, 3]
    assert (
        msrs.n_params == 300
        and len(msrs.sparsity) == 6
        and msrs.grad_flow
        and msrs.events
    )
    assert len(decodes) == 8
    got = {(d.model, d.condition, d.snr): d.scores["wer"] for d in decodes}
    assert got[("avsr_msrs", "beam10_test", None)] == 10.0
    assert got[("avsr_dense", "beam10_test", -5.0)] == 75.0


def test_summarize_config(fake_exp):
    runs, _ = scan_exp(fake_exp)
    s = summarize_config(runs[1])
    assert s["modality"].startswith("av")
    assert s["encoder"] == "conformer (layers=6, d=256, heads=4, ff=1024)"
    assert s["sparsity"].startswith("msrs (") and "mask_epochs=3" in s["sparsity"]
    assert s["epochs"] == "6 trained of max_epoch=10"
    assert s["best valid acc"].endswith("(epoch 6)")
    assert summarize_config(runs[0])["sparsity"] == "none (dense)"


def test_missing_exp_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="--exp_dir"):
        scan_exp(tmp_path / "nope")


def test_summary_lists_only_the_frontends_of_the_modality(fake_exp):
    import dataclasses

    runs, _ = scan_exp(fake_exp)
    both = {"video_frontend": "resnet", "audio_frontend": "resnet1d"}
    for modality, want in (
        ("vsr", "video_frontend: resnet"),
        ("asr", "audio_frontend: resnet1d"),
        ("avsr", "video_frontend: resnet, audio_frontend: resnet1d"),
    ):
        run = dataclasses.replace(runs[1], config=dict(runs[1].config, **both, modality=modality))
        assert summarize_config(run)["frontend"] == want

"""Aggregation and verdict rules of the study report (msrs/report/study*.py),
on small synthetic inputs: a fake study exp tree written as run_study.sh lays
it out (train.log epoch lines, scores.json + utt_errors.tsv, jsonl logs)."""

import json
from pathlib import Path

import pytest

from msrs.bin.study_report import main as study_report
from msrs.report.study import (
    Epoch,
    SetScore,
    choose_target,
    load_study,
    log_seconds,
    pooled_wer_ci,
    summarize,
    to_target,
)
from msrs.report.study_claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Study,
    claims,
    compare,
    status,
)
from msrs.report.study_md import constant_sentence_wer

UTTS = [f"spk{i % 4}_test_{i:05d}" for i in range(20)]


def _write_run(
    exp: Path,
    name: str,
    accs,
    secs=10.0,
    wers=None,
    errors=None,
    density=None,
    grad=None,
    config="",
):
    d = exp / name
    d.mkdir(parents=True)
    (d / "config.yaml").write_text(
        "sparsity: msrs\nsparsity_conf:\n  phases:\n  - {name: search, end: 2}\n  - {name: dense}\n"
        + config
    )
    lines = [
        f"[vm] 2026 (trainer:394) INFO: {e}epoch results: [train] iter_time=0.004, acc=0.5, "
        f"train_time=0.1, time={secs} seconds, total_count=10, [valid] loss=1.0, acc={a}, "
        f"time=1 minute and 0.5 seconds, total_count=2"
        for e, a in enumerate(accs, 1)
    ]
    (d / "train.log").write_text("\n".join(lines) + "\n")
    (d / ".done.study").touch()
    for ts, wer in (wers or {}).items():
        tset, cond = ts.split("@") if "@" in ts else (ts, "clean")  # "test@snr-5": babble
        sc = d / f"decode_decode_{tset}_{cond}" / "score"
        sc.mkdir(parents=True)
        (sc / "scores.json").write_text(json.dumps({"wer": wer}))
        err = errors[ts]
        rows = ["utt_id\tspeaker\tref_words\terrors\tsub\tdel\tins"]
        rows += [f"{u}\t{u[:4]}\t6\t{e}\t{e}\t0\t0" for u, e in zip(UTTS, err)]
        (sc / "utt_errors.tsv").write_text("\n".join(rows) + "\n")
    if density is not None:
        (d / "sparsity.jsonl").write_text(
            json.dumps({"epoch": len(accs), "global_density": 0.3, "layers": density})
            + "\n"
        )
    if grad is not None:
        (d / "grad_flow.jsonl").write_text(
            "".join(
                json.dumps(
                    {
                        "step": 10 * (i + 1),
                        "epoch": i + 1,
                        "global_norm": g,
                        "layers": {"a.weight": g},
                    }
                )
                + "\n"
                for i, g in enumerate(grad)
            )
        )
    return d


def test_summarize_gives_mean_and_sample_sd_and_no_sd_for_one_seed():
    s = summarize([1.0, 2.0, 3.0, None])
    assert (s.mean, s.sd, s.n) == (2.0, 1.0, 3)
    one = summarize([5.0])
    assert one.mean == 5.0 and one.sd is None and one.fmt() == "5.0 (1 seed)"
    assert summarize([]).mean is None


def test_to_target_counts_epochs_and_seconds_up_to_the_first_epoch_at_target():
    curve = [
        Epoch(1, 0.2, 10.0),
        Epoch(2, 0.5, 12.0),
        Epoch(3, 0.7, 14.0),
        Epoch(4, 0.9, 16.0),
    ]
    assert to_target(curve, 0.6) == (3, 36.0)
    assert to_target(curve, 0.95) is None


def test_compare_calls_a_difference_within_the_seed_spread_no_difference():
    a, b = summarize([10.0, 14.0]), summarize([12.0, 13.0])  # diff 0 < sd 2.8
    assert compare(a, b) == "no difference"
    lo, hi = summarize([10.0, 10.5]), summarize([20.0, 21.0])
    assert compare(lo, hi) == "lower" and compare(hi, lo) == "higher"


def test_compare_with_overlapping_bootstrap_intervals_is_no_difference():
    lo, hi = summarize([10.0, 10.5]), summarize([20.0, 21.0])
    assert compare(lo, hi, (10.2, 5.0, 25.0), (20.5, 15.0, 30.0)) == "no difference"
    assert compare(lo, hi, (10.2, 8.0, 12.0), (20.5, 18.0, 23.0)) == "lower"


def test_compare_with_one_seed_is_inconclusive():
    assert compare(summarize([10.0]), summarize([50.0, 51.0])) == "inconclusive"


def test_status_needs_every_seed_to_fail_and_two_seeds():
    assert status([90.0, 95.0], 80.0) == "fails"
    assert status([20.0, 30.0], 80.0) == "trains"
    assert status([20.0, 95.0], 80.0) == "mixed"
    assert status([95.0], 80.0) == "1 seed"
    assert status([], 80.0) == "missing"


def test_pooled_ci_is_the_seed_mean_wer_with_an_interval_around_it():
    a = SetScore(10.0, UTTS[:4], [0, 1, 0, 1], [5, 5, 5, 5])
    b = SetScore(30.0, UTTS[:4], [1, 2, 1, 2], [5, 5, 5, 5])
    wer, lo, hi = pooled_wer_ci([a, b])
    assert wer == pytest.approx(20.0)  # (2 + 6) / 40
    assert lo <= wer <= hi


def test_constant_sentence_wer_scores_the_per_position_majority_sentence():
    train = ["bin red at a one now", "bin red at b two now", "lay blue at a one soon"]
    assert constant_sentence_wer(train, ["bin red at a one now"]) == 0.0
    assert constant_sentence_wer(train, ["lay blue at c three now"]) == pytest.approx(
        100 * 4 / 6
    )


def test_log_seconds_sums_train_and_valid_durations_but_not_other_time_keys(tmp_path):
    _write_run(tmp_path, "vsr_study_dense_s0", [0.5], secs=9.5)
    assert log_seconds(tmp_path / "vsr_study_dense_s0" / "train.log") == {
        1: pytest.approx(9.5 + 60.5)
    }


def test_load_study_joins_the_curriculum_stages_and_reads_tests(tmp_path):
    err = {"test": [1] * 20, "test2": [2] * 20}
    _write_run(tmp_path, "vsr_study_curriculum_s0_short", [0.2, 0.3])
    _write_run(
        tmp_path,
        "vsr_study_curriculum_s0",
        [0.5, 0.8],
        wers={"test": 16.7, "test2": 33.3},
        errors=err,
    )
    _write_run(
        tmp_path,
        "quarter/vsr_study_msrs_quarter_s1",
        [0.4],
        wers={"test": 50.0},
        errors={"test": [3] * 20},
    )
    runs = load_study(tmp_path)
    cur = runs["curriculum"][0]
    assert [e.epoch for e in cur.curve] == [1, 2, 3, 4] and cur.stage1_epochs == 2
    assert [e.acc for e in cur.curve] == [0.2, 0.3, 0.5, 0.8]
    assert cur.tests["test"].wer == 16.7 and len(cur.tests["test2"].errors) == 20
    assert runs["msrs_quarter"][0].seed == 1 and cur.early_epochs == 2


def test_choose_target_takes_a_fraction_of_the_best_dense_baseline(tmp_path):
    for s, a in ((0, 0.6), (1, 0.8)):
        _write_run(tmp_path, f"vsr_study_dense_s{s}", [0.3, a])
        _write_run(tmp_path, f"vsr_study_curriculum_s{s}", [0.3, 0.5])
    assert choose_target(load_study(tmp_path), frac=0.9) == pytest.approx(0.9 * 0.7)


def _study(tmp_path, spec, fail_wer=80.0, target=0.7):
    """spec: method -> list of (accs, test wer, grad norms) per seed."""
    for m, seeds in spec.items():
        for s, (accs, wer, grad) in enumerate(seeds):
            errs = [round(wer / 100 * 6)] * 20
            _write_run(
                tmp_path,
                f"vsr_study_{m}_s{s}",
                accs,
                wers={"test": wer},
                errors={"test": errs},
                density={"a.weight": 0.3} if m != "dense" else None,
                grad=grad,
            )
    return Study(load_study(tmp_path), target, fail_wer)


def _verdicts(study):
    return {c.key: c.verdict for c in claims(study)}


def test_claims_reproduced_when_dense_fails_msrs_trains_fast_with_stronger_gradients(
    tmp_path,
):
    slow, fast = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3], [0.5, 0.8, 0.8]
    v = _verdicts(
        _study(
            tmp_path,
            {
                "dense": [(slow, 100.0, [0.1, 0.1]), (slow, 100.0, [0.12, 0.1])],
                "curriculum": [([0.3, 0.5, 0.6, 0.7, 0.8, 0.8], 33.3, None)] * 2,
                "msrs": [(fast, 16.7, [1.0, 1.0]), (fast, 16.7, [1.1, 1.0])],
                "snip": [(slow, 100.0, None)] * 2,
                "msrs_quarter": [(fast, 33.3, None)] * 2,
                "dense_quarter": [(slow, 100.0, None)] * 2,
            },
        )
    )
    assert v == {
        "a": REPRODUCED,
        "b": REPRODUCED,
        "c": REPRODUCED,
        "d": REPRODUCED,
        "e": REPRODUCED,
        "f1": REPRODUCED,
        "f2": INCONCLUSIVE,  # no AVSR runs
        "g": INCONCLUSIVE,  # no LayerScale runs
    }


def test_claims_not_reproduced_when_dense_and_baselines_train_as_well_as_msrs(tmp_path):
    curve = [0.5, 0.8, 0.8]
    v = _verdicts(
        _study(
            tmp_path,
            {
                "dense": [(curve, 16.7, [1.0, 1.0]), (curve, 16.7, [1.1, 1.0])],
                "msrs": [(curve, 16.7, [1.0, 1.0]), (curve, 16.7, [1.05, 1.0])],
                "rigl": [(curve, 16.7, None)] * 2,
            },
        )
    )
    assert v["a"] == NOT_REPRODUCED and v["b"] == REPRODUCED
    assert v["c"] == NOT_REPRODUCED  # RigL matches MSRS
    assert v["d"] == NOT_REPRODUCED  # same time to target: ratio 1
    assert v["e"] == NOT_REPRODUCED  # gradient norms within the spread
    assert v["f1"] == INCONCLUSIVE  # no quarter runs


def _layer_scale_claim(tmp_path, msrs_ls_wer, dense_ls_wer=33.3):
    curve = [0.5, 0.8, 0.8]
    spec = {m: [(curve, w, None)] * 2 for m, w in (
        ("dense", 33.3), ("msrs", 33.3), ("dense_ls", dense_ls_wer), ("msrs_ls", msrs_ls_wer))}
    return next(c for c in claims(_study(tmp_path, spec)) if c.key == "g")


def test_layer_scale_complements_msrs_when_msrs_with_it_beats_both_alone(tmp_path):
    g = _layer_scale_claim(tmp_path, msrs_ls_wer=16.7)
    assert g.verdict == REPRODUCED, g.why
    assert "LayerScale alone (`dense_ls` vs `dense`): no difference" in g.why


def test_layer_scale_does_not_complement_msrs_when_it_only_matches_layer_scale_alone(tmp_path):
    g = _layer_scale_claim(tmp_path, msrs_ls_wer=16.7, dense_ls_wer=16.7)
    assert g.verdict == NOT_REPRODUCED, g.why
    assert "vs `dense_ls` 16.7 % ± 0.0: no difference" in g.why


def test_layer_scale_claim_names_the_missing_runs(tmp_path):
    curve = [0.5, 0.8, 0.8]
    g = next(c for c in claims(_study(tmp_path, {m: [(curve, 33.3, None)] * 2 for m in ("msrs", "msrs_ls")}))
             if c.key == "g")
    assert g.verdict == INCONCLUSIVE and g.why == "needs runs dense_ls"


def _babble_study(tmp_path, msrs_noisy_wer):
    curve = [0.5, 0.8, 0.8]
    for m, noisy in (("dense", 50.0), ("msrs", msrs_noisy_wer)):
        for seed in (0, 1):
            wers = {"test": 16.7, "test@snr-5": noisy, "test@snr0": 33.3}
            _write_run(tmp_path, f"avsr_study_{m}_s{seed}", curve, wers=wers,
                       errors={t: [round(w / 100 * 6)] * 20 for t, w in wers.items()})
    return Study(load_study(tmp_path), 0.7, 80.0)


def test_avsr_runs_are_keyed_by_modality_and_read_every_babble_condition(tmp_path):
    study = _babble_study(tmp_path, 33.3)
    assert set(study.runs) == {"avsr_dense", "avsr_msrs"}
    run = study.runs["avsr_msrs"][0]
    assert run.modality == "avsr" and set(run.tests) == {"test", "test@snr-5", "test@snr0"}
    assert run.tests["test@snr-5"].wer == 33.3


def test_babble_claim_compares_msrs_and_dense_at_the_lowest_snr(tmp_path):
    f2 = next(c for c in claims(_babble_study(tmp_path, 33.3)) if c.key == "f2")
    assert f2.verdict == REPRODUCED, f2.why  # 33.3 vs 50.0 at -5 dB (equal at 0 dB)
    assert f2.why.startswith("babble -5 dB:")


def test_babble_claim_not_reproduced_when_msrs_is_as_bad_in_noise(tmp_path):
    f2 = next(c for c in claims(_babble_study(tmp_path, 50.0)) if c.key == "f2")
    assert f2.verdict == NOT_REPRODUCED, f2.why


def test_a_corrupt_run_config_is_reported_by_name(tmp_path, caplog):
    d = _write_run(tmp_path, "vsr_study_dense_s0", [0.3, 0.5])
    (d / "config.yaml").write_text("sparsity: [unclosed\n")
    with caplog.at_level("WARNING"):
        runs = load_study(tmp_path)
    assert [r.seed for r in runs["dense"]] == [0]
    assert str(d / "config.yaml") in caplog.text and "unreadable" in caplog.text


def test_claims_are_inconclusive_with_one_seed(tmp_path):
    v = _verdicts(
        _study(
            tmp_path,
            {
                "dense": [([0.3, 0.3], 100.0, [0.1])],
                "msrs": [([0.5, 0.8], 16.7, [1.0])],
            },
        )
    )
    assert set(v.values()) == {INCONCLUSIVE}


def test_report_cli_writes_claims_test2_agreement_and_plots(tmp_path):
    exp = tmp_path / "exp"
    for s in (0, 1):
        for m, w in (("dense", [1] * 20), ("msrs", [2] * 20)):
            _write_run(
                exp,
                f"vsr_study_{m}_s{s}",
                [0.3, 0.6 + 0.1 * s],
                wers={"test": 16.7, "test2": 16.7},
                errors={"test": w, "test2": w},
                density={"a.weight": 0.3, "b.1.weight": 0.5} if m == "msrs" else None,
                grad=[1.0, 0.5],
            )
    out = tmp_path / "docs" / "results.md"
    assert (
        study_report(
            [
                "--exp_dir",
                str(exp),
                "--out",
                str(out),
                "--plots_dir",
                str(tmp_path / "docs" / "results"),
            ]
        )
        == 0
    )
    md = out.read_text()
    assert "| (a) dense training from scratch fails |" in md
    assert (
        "test2 agrees with test (overlapping 95 % intervals) for 2 of 2 methods." in md
    )
    for png in (
        "valid_acc.png",
        "epochs_to_target.png",
        "grad_flow.png",
        "density.png",
    ):
        assert (tmp_path / "docs" / "results" / png).stat().st_size > 0
    assert "](results/valid_acc.png)" in md


def test_an_unfinished_run_is_left_out(tmp_path):
    """A run still training (no .done.study, no averaged model) would add a partial curve."""
    from msrs.report.study import load_study

    _write_run(tmp_path, "vsr_study_dense_s0", [0.3, 0.5])
    _write_run(tmp_path, "vsr_study_dense_s1", [0.3])
    (tmp_path / "vsr_study_dense_s1" / ".done.study").unlink()
    runs = load_study(tmp_path)
    assert [r.seed for r in runs["dense"]] == [0]


def test_report_cli_tables_the_avsr_runs_in_babble_apart_from_the_clean_test_sets(tmp_path):
    _babble_study(tmp_path / "exp", 33.3)
    out = tmp_path / "results.md"
    assert study_report(["--exp_dir", str(tmp_path / "exp"), "--out", str(out),
                         "--plots_dir", str(tmp_path / "plots")]) == 0
    md = out.read_text()
    assert "test sets: test." in md  # the babble conditions are not test sets of their own
    table = md.split("## AVSR in babble noise", 1)[1]
    assert "| method | seeds | clean | clean [95 % CI] | 0 dB | 0 dB [95 % CI] | -5 dB |" in table
    assert "| avsr_msrs | 2 | 16.7 ± 0.0 |" in table
    assert "| (f2) robust in babble noise (AVSR) | **reproduced** |" in md

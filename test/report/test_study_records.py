"""Run records (msrs/report/study_records.py): the report's figures survive the run
directories, a local run replaces its record, and the records alone rewrite the
same report byte for byte."""

import gzip
import json
import shutil

import pytest

from msrs.bin.study_report import main as study_report
from msrs.report.study import load_study
from msrs.report.study_records import load_meta, load_records, save_records
from test_study_report import _write_run


def _exp(tmp_path, seeds=(0, 1)):
    exp = tmp_path / "study" / "exp"
    for s in seeds:
        for m, w in (("dense", [1] * 20), ("msrs", [2] * 20)):
            _write_run(
                exp, f"vsr_study_{m}_s{s}", [0.3, 0.6 + 0.1 * s],
                wers={"test": 16.7 if m == "dense" else 33.3, "test2": 16.7},
                errors={"test": w, "test2": w},
                density={"a.weight": 0.3, "b.1.weight": 0.5} if m == "msrs" else None,
                grad=[1.0, 0.5],
            )
    data = tmp_path / "study" / "data"
    for ts in ("train", "test"):
        (data / ts).mkdir(parents=True)
        (data / ts / "text").write_text("u1 bin blue at a one now\nu2 set red by b two soon\n")
    return exp


def _report(tmp_path, exp, records, name="results.md", preset="bench"):
    out = tmp_path / "docs" / name
    rc = study_report(["--exp_dir", str(exp), "--out", str(out), "--plots_dir",
                       str(tmp_path / "docs" / "results"), "--records_dir", str(records),
                       "--preset", preset])
    return rc, out


def test_a_record_reads_back_as_the_run_it_was_written_from(tmp_path):
    exp = _exp(tmp_path)
    runs = load_study(exp)
    save_records(runs, tmp_path / "rec")
    back = load_records(tmp_path / "rec")
    assert sorted(back) == sorted(runs)
    for m in runs:
        for a, b in zip(runs[m], back[m]):
            assert (a.method, a.seed, a.modality, a.curve, a.stage1_epochs) == (
                b.method, b.seed, b.modality, b.curve, b.stage1_epochs)
            assert a.tests == b.tests and a.density == b.density
            assert a.grad_flow == b.grad_flow and a.settings == b.settings
            assert a.early_epochs == b.early_epochs == 2


def test_rewriting_an_unchanged_run_leaves_its_record_byte_identical(tmp_path):
    runs = load_study(_exp(tmp_path))
    assert save_records(runs, tmp_path / "rec") == 4
    before = {f.name: f.read_bytes() for f in (tmp_path / "rec").iterdir()}
    assert save_records(runs, tmp_path / "rec") == 0
    assert {f.name: f.read_bytes() for f in (tmp_path / "rec").iterdir()} == before


def test_the_records_alone_rewrite_the_same_report_after_the_runs_are_gone(tmp_path):
    exp = _exp(tmp_path)
    rc, out = _report(tmp_path, exp, tmp_path / "rec")
    assert rc == 0
    first = out.read_text()
    assert "Made from the run records in [../rec/](../rec/)" in first
    plots = {p.name for p in (tmp_path / "docs" / "results").glob("*.png")}
    shutil.rmtree(tmp_path / "study")  # the run directories and the data are lost
    shutil.rmtree(tmp_path / "docs")
    rc, out = _report(tmp_path, tmp_path / "study" / "exp", tmp_path / "rec")
    assert rc == 0
    # the same report, byte for byte (the failure threshold from the recorded data fact), and plots
    assert out.read_text() == first
    assert {p.name for p in (tmp_path / "docs" / "results").glob("*.png")} == plots and plots
    assert load_meta(tmp_path / "rec")["constant_sentence_wer"] is not None


def test_a_local_run_replaces_its_record_and_new_seeds_add_to_the_recorded(tmp_path):
    rec = tmp_path / "rec"
    save_records(load_study(_exp(tmp_path, seeds=(0,))), rec)
    shutil.rmtree(tmp_path / "study")
    exp = _exp(tmp_path, seeds=(0, 1))  # seed 0 rerun (other WER), seed 1 new
    for m in ("dense", "msrs"):
        sj = exp / f"vsr_study_{m}_s0" / "decode_decode_test_clean" / "score" / "scores.json"
        sj.write_text(json.dumps({"wer": 50.0}))
    rc, out = _report(tmp_path, exp, rec)
    assert rc == 0
    back = load_records(rec)
    assert [r.seed for r in back["dense"]] == [0, 1] and back["dense"][0].tests["test"].wer == 50.0
    assert len(list(rec.glob("*.json.gz"))) == 4
    assert "| dense | 2 | 33.4 ± 23.5 |" in out.read_text()  # 50.0 and 16.7, not the recorded seed 0


def test_a_corrupt_record_is_named_and_left_out(tmp_path, caplog):
    rec = tmp_path / "rec"
    save_records(load_study(_exp(tmp_path)), rec)
    bad = rec / "vsr_study_msrs_s1.json.gz"
    bad.write_bytes(gzip.compress(b'{"version": 1, "method": "msrs"}'))
    (rec / "vsr_study_dense_s1.json.gz").write_bytes(b"not gzip")
    back = load_records(rec)
    assert [r.seed for r in back["msrs"]] == [0] and [r.seed for r in back["dense"]] == [0]
    assert "vsr_study_msrs_s1.json.gz: unreadable run record (malformed record" in caplog.text
    assert "vsr_study_dense_s1.json.gz: unreadable run record" in caplog.text


def test_records_of_another_preset_are_refused(tmp_path, caplog):
    exp = _exp(tmp_path)
    assert _report(tmp_path, exp, tmp_path / "rec", preset="bench")[0] == 0
    rc, _ = _report(tmp_path, exp, tmp_path / "rec", preset="tiny")
    assert rc == 1
    assert "records of preset 'bench', not --preset tiny" in caplog.text


@pytest.mark.parametrize("with_records", [True, False])
def test_no_runs_and_no_records_is_an_error_naming_both(tmp_path, caplog, with_records):
    args = ["--exp_dir", str(tmp_path / "none"), "--out", str(tmp_path / "r.md"),
            "--plots_dir", str(tmp_path / "p")]
    if with_records:
        args += ["--records_dir", str(tmp_path / "rec")]
    assert study_report(args) == 1
    assert "no study run" in caplog.text
    assert ("no record in" in caplog.text) == with_records

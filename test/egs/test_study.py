"""End-to-end ``egs/mini_lrs3/run_study.sh --quick`` (issue 12): every code path
of the study on the ``tiny`` preset, 1 seed, 1 epoch -- data and subsets,
dense / MSRS / curriculum (two stages) / a quarter-speaker run / an AVSR MSRS
run decoded clean and in babble, decoding of test and test2, the report with its claims table and plots -- then a rerun that
skips every finished run.  The recipe is copied to a temporary directory (its
shared pieces linked back), so nothing is written into the repository."""

import shutil
from pathlib import Path

import pytest
from egs_recipe import ROOT, copy_recipe, run_script

pytestmark = pytest.mark.slow


def _run(rec: Path, *args: str, timeout: int = 900) -> str:
    return run_script(rec, "run_study.sh", "--quick", *args, timeout=timeout, OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory):
    rec = copy_recipe("mini_lrs3", tmp_path_factory.mktemp("egs"))
    shutil.copy2(ROOT / "egs" / "mini_lrs3" / "run_study.sh", rec / "run_study.sh")
    out = _run(rec)
    return rec, out


def test_quick_study_trains_decodes_and_reports_every_method(quick_study):
    rec, out = quick_study
    work = rec / "study" / "quick"
    runs = {
        "exp/vsr_study_dense_s0",
        "exp/vsr_study_msrs_s0",
        "exp/vsr_study_curriculum_s0_short",
        "exp/vsr_study_curriculum_s0",
        "exp/quarter/vsr_study_dense_quarter_s0",
        "exp/avsr_study_msrs_s0",
    }
    for r in runs:
        assert (work / r / "valid.acc.ave.pth").is_file(), r
    test_sets = ["test"] + (
        ["test2"] if (work / "data" / "test2" / "text").is_file() else []
    )
    for r in runs - {"exp/vsr_study_curriculum_s0_short"}:
        assert (work / r / ".done.study").is_file(), r
        for t in test_sets:
            assert (
                work / r / f"decode_decode_{t}_clean" / "score" / "scores.json"
            ).is_file(), (r, t)
    md = (work / "results.md").read_text()
    assert (
        "| (a) dense training from scratch fails | **inconclusive** |" in md
    )  # 1 seed
    for m in ("dense", "msrs", "curriculum", "dense_quarter", "avsr_msrs"):
        assert f"\n| {m} | 1 |" in md, m
    assert (work / "exp/avsr_study_msrs_s0/decode_decode_test_snr-5/score/scores.json").is_file()
    assert "## AVSR in babble noise" in md and "| -5 dB |" in md
    assert (work / "plots" / "valid_acc.png").stat().st_size > 0
    assert (work / "plots" / "density.png").is_file()  # the MSRS mask
    # stage 3 kept a record of every run and made the report from the records
    recs = {f.name for f in (work / "plots" / "runs").glob("*.json.gz")}
    assert recs == {Path(r).name + ".json.gz" for r in runs - {"exp/vsr_study_curriculum_s0_short"}}
    assert "Made from the run records in [plots/runs/](plots/runs/)" in md
    assert not (rec / "data").exists()  # the study keeps to its own directory


def test_quick_study_rerun_skips_finished_runs(quick_study):
    rec, _ = quick_study
    out = _run(rec, "--stop_stage", "2", timeout=300)
    assert out.count("finished earlier") == 5, out[-3000:]
    assert "stage 7: training" not in out


def test_quick_study_with_methods_empty_runs_no_vsr_method(quick_study):
    """--methods "" means no VSR run (AVSR-only reruns), not the default methods."""
    rec, _ = quick_study
    out = _run(rec, "--stage", "2", "--stop_stage", "2", "--methods", "", "--quarter_methods", "",
               "--avsr_methods", "msrs", timeout=300)
    assert "stage 2: 1 runs" in out, out[-3000:]
    assert "run avsr_msrs seed 0: finished earlier" in out
    assert "run dense seed" not in out and "run msrs seed" not in out

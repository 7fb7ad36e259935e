"""End-to-end run of egs/mini_lrs3 with the smallest settings (every stage).

The recipe is copied into a temporary directory (its shared pieces linked back
to the repository, as in egs/), the synthetic corpus is generated with the
``tiny`` preset, both models train for one epoch, and every later stage runs:
decoding (clean and babble), scoring, report with plots, packing, and decoding
again from the packed archive.  A rerun must skip the finished stages.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from egs_recipe import copy_recipe, recipe_env

pytestmark = pytest.mark.slow


def _run(rec: Path, *args: str, timeout: int = 1200) -> str:
    proc = subprocess.run(
        ["bash", "./run.sh", *args],
        cwd=rec,
        env=recipe_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


SMALL = (
    "--preset", "tiny",
    "--nj", "2",
    "--nbpe", "40",
    "--test_snrs", "0",
    "--train_args", "--max_epoch 1 --keep_nbest_models 1",
)  # fmt: skip


@pytest.fixture(scope="module")
def finished_recipe(tmp_path_factory):
    rec = copy_recipe("mini_lrs3", tmp_path_factory.mktemp("egs"))
    out = _run(rec, *SMALL)
    return rec, out


def test_every_stage_produces_its_outputs(finished_recipe):
    rec, out = finished_recipe
    # stages 1-3: data dirs and dumps
    for s in ("train", "valid", "test"):
        assert (rec / "data" / s / "text").stat().st_size > 0
        assert (rec / "dump" / s / "video.scp").stat().st_size > 0
        assert (rec / "dump" / s / "wav.scp").stat().st_size > 0
    # stage 4: token list with ESPnet's special symbols
    tokens = (rec / "data/token_list/bpe40/tokens.txt").read_text().split("\n")
    assert tokens[0] == "<blank>" and tokens[1] == "<unk>" and "<sos/eos>" in tokens
    for m in ("vsr", "avsr"):
        exp = rec / "exp" / f"{m}_train_{m}_msrs"
        # stage 7: trained, averaged, with sparsity logs
        assert (exp / "valid.acc.ave.pth").exists()
        assert (exp / "sparsity.jsonl").stat().st_size > 0
        # stages 8-9: clean (and babble for audio) decodes scored
        conds = ["clean"] + (["snr0"] if m == "avsr" else [])
        for c in conds:
            score = exp / f"decode_decode_test_{c}" / "score"
            assert (score / "scores.json").exists(), sorted(exp.iterdir())
            result = next(score.glob("result*.txt")).read_text()
            assert "Sum/Avg" in result
        # stage 11: archive
        assert list(exp.glob("*.tar.gz")) or list(exp.glob("*.tgz")), sorted(
            exp.iterdir()
        )
    # stage 10: report and plots, and the WER table printed at the end
    results = (rec / "RESULTS.md").read_text()
    assert "## Word error rate (%)" in results
    assert "vsr_train_vsr_msrs" in results and "avsr_train_avsr_msrs" in results
    assert list((rec / "exp" / "plots").glob("*.png"))
    assert "=== WER (%)" in out
    table = out.split("=== WER (%)", 1)[1]
    assert "| model | condition |" in table and "avsr_train_avsr_msrs" in table


def test_rerun_skips_finished_stages(finished_recipe):
    rec, _ = finished_recipe
    out = _run(rec, *SMALL, "--stop_stage", "9", timeout=300)
    assert "already trained" in out
    assert "stage 7: training" not in out


def test_packed_archive_decodes(finished_recipe, tmp_path):
    rec, _ = finished_recipe
    exp = rec / "exp" / "vsr_train_vsr_msrs"
    archive = next(iter(list(exp.glob("*.tar.gz")) + list(exp.glob("*.tgz"))))
    uid, path = (rec / "dump/test/video.scp").read_text().split("\n")[0].split()
    scp = tmp_path / "video.scp"
    scp.write_text(f"{uid} {rec / path if not Path(path).is_absolute() else path}\n")
    out_dir = tmp_path / "decode"
    proc = subprocess.run(
        [
            sys.executable, "-m", "msrs.bin.avsr_inference",
            "--model_archive", str(archive),
            "--data_path_and_name_and_type", f"{scp},video,video",
            "--output_dir", str(out_dir),
            "--beam_size", "2", "--ngpu", "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    hyp = (out_dir / "1best_recog" / "text").read_text().split(maxsplit=1)
    assert hyp[0] == uid

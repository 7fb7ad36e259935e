"""End-to-end run of egs/mini_lrs3 with the smallest settings (every stage).

The recipe is copied into a temporary directory (its shared pieces linked back
to the repository, as in egs/), the synthetic corpus is generated with the
``tiny`` preset (with its second test set of new speakers, data/test2), both
models train for one epoch, and every later stage runs: decoding of test and
test2 (clean and babble), scoring with the WER's bootstrap interval, report
with plots under exp/ (no file outside exp/, data/, dump/, downloads/ is
written), packing, and decoding again from the packed archive.  A rerun must
skip the finished stages.

Fault injection (issue 13): after stage 1 one clip of each split is truncated;
the run must finish, keep stage 2 undone for the failed clips, score the test
set against its full reference (the missing utterance as deletions) and say so
in the final WER table; a truncated checkpoint.pth must resume from the last
intact epoch file.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from egs_recipe import copy_recipe, recipe_env, run_script

pytestmark = pytest.mark.slow


def _run(rec: Path, *args: str, timeout: int = 1200) -> str:
    return run_script(rec, "run.sh", *args, timeout=timeout)


SMALL = (
    "--preset", "tiny",
    "--nj", "2",
    "--nbpe", "40",
    "--test_snrs", "0",
    "--train_args", "--max_epoch 1 --keep_nbest_models 1",
)  # fmt: skip


def _break_one_clip_per_split(rec: Path) -> None:
    """Truncate the first recording of data/{train,valid,test} (a corrupt clip)."""
    for s in ("train", "valid", "test"):
        path = Path((rec / "data" / s / "video.scp").read_text().split("\n")[0].split()[1])
        path = path if path.is_absolute() else rec / path
        path.write_bytes(path.read_bytes()[:600])


@pytest.fixture(scope="module")
def finished_recipe(tmp_path_factory):
    rec = copy_recipe("mini_lrs3", tmp_path_factory.mktemp("egs"))
    _run(rec, *SMALL, "--stop_stage", "1")
    _break_one_clip_per_split(rec)
    out = _run(rec, *SMALL, "--stage", "2")
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
        for t in ("test", "test2"):
            for c in conds:
                score = exp / f"decode_decode_{t}_{c}" / "score"
                assert (score / "scores.json").exists(), sorted(exp.iterdir())
                result = next(score.glob("result*.txt")).read_text()
                assert "Sum/Avg" in result
                s = json.loads((score / "scores.json").read_text())
                assert s["wer_ci"]["lo"] <= s["wer"] <= s["wer_ci"]["hi"]
                assert (score / "utt_errors.tsv").is_file()
        # stage 11: archive
        assert list(exp.glob("*.tar.gz")) or list(exp.glob("*.tgz")), sorted(
            exp.iterdir()
        )
    # test2: new speakers whose ids cannot be those of the main corpus
    spk2 = {line.split()[0] for line in (rec / "data/test2/spk2utt").read_text().splitlines()}
    main_spk = {
        line.split()[0]
        for s in ("train", "valid", "test")
        for line in (rec / "data" / s / "spk2utt").read_text().splitlines()
    }
    assert spk2 and all(s.startswith("t2") for s in spk2) and not spk2 & main_spk
    # stage 10: report and plots under exp/, and the WER table printed at the end
    assert not (rec / "RESULTS.md").exists()
    results = (rec / "exp" / "RESULTS.md").read_text()
    assert "## Word error rate (%)" in results
    assert "vsr_train_vsr_msrs" in results and "avsr_train_avsr_msrs" in results
    assert list((rec / "exp" / "plots").glob("*.png"))
    assert sorted(p.name for p in rec.iterdir()) == sorted(
        ["avsr.sh", "cmd.sh", "conf", "data", "db.sh", "downloads", "dump", "exp", "local",
         "path.sh", "run.sh", "utils"]
    )  # nothing else written in the recipe directory
    assert "=== WER (%)" in out
    table = out.split("=== WER (%)", 1)[1]
    assert "| model | condition |" in table and "avsr_train_avsr_msrs" in table
    assert "| `vsr_train_vsr_msrs` | decode_test2 | " in table
    assert re.search(r"\| `vsr_train_vsr_msrs` \| decode_test \| [\d.]+ \[[\d.]+, [\d.]+\] \|", table)
    # stage 7 printed one progress line per epoch and model
    assert re.search(r"\[vsr_train_vsr_msrs\] epoch 1/1  loss [\d.]+  valid acc [\d.]+", out)


def test_bad_clips_are_counted_and_the_test_set_is_scored_whole(finished_recipe):
    rec, out = finished_recipe
    n_test = len((rec / "data/test/text").read_text().splitlines())
    for s in ("train", "valid", "test"):
        assert len((rec / "dump/raw" / s / "failures.txt").read_text().splitlines()) >= 1
        assert not (rec / "dump/raw" / s / ".done.stage2").exists()  # retried on rerun
    assert "not marked done: a rerun retries only those" in out
    score = json.loads(
        (rec / "exp/vsr_train_vsr_msrs/decode_decode_test_clean/score/scores.json").read_text()
    )
    assert score["n_utts"] == n_test and score["n_scored"] == n_test - 1
    assert f"test clean: scored {n_test - 1} of {n_test} reference utterances" in out
    # the final WER table states scored/total per condition, and the data counts
    table = out.split("=== WER (%)", 1)[1]
    assert f"| `vsr_train_vsr_msrs` | decode_test | **{n_test - 1} of {n_test}** | – |" in table
    assert f"| `avsr_train_avsr_msrs` | decode_test | **{n_test - 1} of {n_test}** |" in table
    assert f"| test | {n_test} | {n_test - 1} | 1 | {n_test - 1} |" in table


def test_rerun_skips_finished_stages(finished_recipe):
    rec, _ = finished_recipe
    out = _run(rec, *SMALL, "--stop_stage", "9", timeout=300)
    assert "already trained" in out
    assert "stage 7: training" not in out
    assert "not marked done: a rerun retries only those" in out  # the bad clips, again


def test_another_preset_is_refused_in_a_used_directory(finished_recipe):
    rec, _ = finished_recipe
    assert (rec / "data/.synth_corpus").read_text().startswith("preset=tiny ")
    proc = subprocess.run(
        ["bash", "./run.sh", "--preset", "demo", "--stop_stage", "1"],
        cwd=rec, env=recipe_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "holds the data, dumps and models of tiny" in proc.stderr


def test_truncated_checkpoint_resumes_from_the_last_intact_epoch(finished_recipe):
    rec, _ = finished_recipe
    exp = rec / "exp" / "vsr_train_vsr_msrs"
    (exp / "checkpoint.pth").write_bytes(b"")  # killed while writing it
    (exp / ".done.stage7").unlink()
    _run(rec, *SMALL, "--stage", "7", "--stop_stage", "7", "--models", "vsr", timeout=600)
    log = (exp / "train.log").read_text()
    assert "RESUME FALLBACK" in log and "checkpoint.pth is empty (0 bytes)" in log
    assert "1epoch.pth (end of epoch 1)" in log
    assert (exp / "checkpoint.pth.corrupt").exists() and (exp / ".done.stage7").exists()


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

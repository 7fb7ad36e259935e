"""egs/TEMPLATE/avsr.sh bookkeeping, without training: locks, stage-2 failures
marking, up-front checks of files made by earlier stages (issue 13, 3/5/6)."""

import fcntl
import os
import subprocess
import time
from pathlib import Path

import pytest
from egs_recipe import copy_recipe, recipe_env


def _data(rec: Path, sets=("train", "valid", "test"), n: int = 2) -> None:
    """data/<set>/ whose media are all corrupt files."""
    for s in sets:
        d = rec / "data" / s
        d.mkdir(parents=True)
        media = rec / "media"
        media.mkdir(exist_ok=True)
        utts = [f"spk{s}_{i}" for i in range(n)]
        for u in utts:
            (media / f"{u}.mp4").write_bytes(b"not a video")
        (d / "text").write_text("".join(f"{u} HELLO WORLD\n" for u in utts))
        (d / "utt2spk").write_text("".join(f"{u} spk{s}\n" for u in utts))
        (d / "spk2utt").write_text(f"spk{s} {' '.join(utts)}\n")
        for scp in ("video.scp", "wav.scp"):
            (d / scp).write_text("".join(f"{u} {media / u}.mp4\n" for u in utts))


def _avsr(rec: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "./avsr.sh", "--nj", "1", "--ngpu", "0", *args],
        cwd=rec,
        env=recipe_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def rec(tmp_path):
    r = copy_recipe("mini_lrs3", tmp_path)
    _data(r)
    return r


def test_stage2_where_every_utterance_fails_stops_with_the_reasons(rec):
    p = _avsr(rec, "--stage", "2", "--stop_stage", "3")
    assert p.returncode == 1, p.stdout[-3000:]
    assert "stage 2 FAILED: every one of the 2 utterance(s) of train failed" in p.stdout
    assert "spktrain_0" in p.stdout and "media" in p.stdout  # first reasons, with the file
    assert not (rec / "dump/raw/train/.done.stage2").exists()
    assert "stage 3" not in p.stdout


def test_stage2_with_failures_is_not_done_and_a_rerun_retries_only_them(rec):
    # one good utterance per set: a real (tiny) clip from the test media fixture
    from msrs.data import video_io
    import numpy as np

    good = rec / "media" / "good.mp4"
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(12, 64, 64, 3), dtype=np.uint8)
    audio = (0.1 * rng.standard_normal(16000 * 12 // 25)).astype(np.float32)
    video_io.write_video(good, frames, fps=25, audio=audio, sample_rate=16000)
    for s in ("train", "valid", "test"):
        for scp in ("video.scp", "wav.scp"):
            f = rec / "data" / s / scp
            lines = f.read_text().splitlines()
            lines[0] = f"{lines[0].split()[0]} {good}"
            f.write_text("\n".join(lines) + "\n")
    args = ("--stage", "2", "--stop_stage", "2", "--roi_opts", "--detector none --crop_size 32")
    p = _avsr(rec, *args)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "1 of 2 utterance(s) of train extracted; 1 failed" in p.stdout
    assert "not marked done: a rerun retries only those" in p.stdout
    assert not (rec / "dump/raw/train/.done.stage2").exists()
    roi = next((rec / "dump/raw/train/data").rglob("*.npy"))
    mtime = roi.stat().st_mtime_ns
    p = _avsr(rec, *args)  # the rerun retries the failed one only
    assert p.returncode == 0 and "1 failed" in p.stdout
    assert roi.stat().st_mtime_ns == mtime
    done = rec / "dump/raw/train/jobs/1.1/timing.json"
    assert '"frames": 0' in done.read_text()  # nothing re-extracted


def test_a_second_run_on_a_locked_directory_exits_at_once_naming_the_holder(rec):
    out = rec / "dump/raw/train"
    out.mkdir(parents=True)
    with open(out / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(f"pid {os.getpid()} on host since 2026-01-01T00:00:00: ./run.sh --stage 2\n")
        f.flush()
        t = time.time()
        p = _avsr(rec, "--stage", "2", "--stop_stage", "2", timeout=60)
        assert time.time() - t < 30
    assert p.returncode == 3, p.stdout[-3000:]
    assert f"{out.relative_to(rec)} is in use by another run: pid {os.getpid()} on host" in p.stdout
    assert not list(out.glob("jobs/*"))  # nothing was started


def test_stages_check_the_files_of_earlier_stages_up_front(rec):
    t = time.time()
    p = _avsr(rec, "--stage", "7", "--stop_stage", "7", "--modality", "vsr", "--nbpe", "40")
    assert p.returncode == 1 and time.time() - t < 20
    assert "data/token_list/unigram40/tokens.txt not found: the token list is made by stage 4" in p.stdout
    p = _avsr(rec, "--stage", "8", "--stop_stage", "8", "--modality", "vsr")
    assert p.returncode == 1
    assert "exp/vsr_train_vsr/valid.acc.ave.pth not found: the trained model is made by stage 7" in p.stdout


@pytest.mark.slow
def test_a_training_failure_prints_the_log_path_and_its_last_lines_only(rec):
    tokens = rec / "data/token_list/char/tokens.txt"
    tokens.parent.mkdir(parents=True)
    tokens.write_text("<blank>\n<unk>\nA\n<sos/eos>\n")
    shapes = rec / "exp/stats_vsr_char/train/text_shape.char"
    shapes.parent.mkdir(parents=True)
    shapes.write_text("u1 3,4\n")
    p = _avsr(rec, "--stage", "7", "--stop_stage", "7", "--modality", "vsr", "--token_type", "char",
              "--train_args", "--max_epoch many")  # fmt: skip
    assert p.returncode == 1, p.stdout[-3000:]
    log = "exp/vsr_train_vsr/train.log"
    assert "argument --max_epoch: invalid int value: 'many'" in p.stdout
    assert f"stage 7 FAILED; last 30 lines of {log}:" in p.stdout
    assert f"stage 7 FAILED; see {log}" in p.stdout
    assert "The last 1000 lines" not in p.stdout and len(p.stdout.splitlines()) < 40
    assert "The last 1000 lines" in (rec / "exp/vsr_train_vsr/launch.log").read_text()


def test_a_failed_job_array_prints_the_first_failed_jobs_log_tail(rec):
    p = _avsr(rec, "--stage", "2", "--stop_stage", "2", "--roi_opts", "--no_such_option 1")
    assert p.returncode == 1, p.stdout[-3000:]
    assert "stage 2 FAILED; last 30 lines of dump/raw/train/log/extract_roi.1.log:" in p.stdout
    assert "unrecognized arguments: --no_such_option" in p.stdout
    assert "stage 2 FAILED; see dump/raw/train/log/extract_roi.*.log" in p.stdout


def test_stage8_summarises_decode_failures_in_the_driver_log(rec, tmp_path):
    """Issue 13, point 6: decode-time failures are named in the stage log, not
    only in per-job logs (a fake decoder stands in for msrs.bin.avsr_inference)."""
    exp = rec / "exp/vsr_train_vsr"
    exp.mkdir(parents=True)
    (exp / "valid.acc.ave.pth").write_bytes(b"x")
    (exp / "config.yaml").write_text("modality: vsr\n")
    dump = rec / "dump/test"
    dump.mkdir(parents=True)
    for f in ("text", "video.scp"):
        (dump / f).write_text((rec / "data/test" / f).read_text())
    fake = tmp_path / "fake_python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        "while [ $# -gt 0 ]; do case $1 in --output_dir) out=$2;; --key_file) keys=$2;; esac; shift; done\n"
        'mkdir -p "$out/1best_recog"; : > "$out/failed_utts.txt"\n'
        'first=$(head -n 1 "$keys" | cut -d" " -f1)\n'
        'echo "$first RuntimeError: out of memory" > "$out/failed_utts.txt"\n'
        'tail -n +2 "$keys" | awk \'{print $1, "HELLO"}\' > "$out/1best_recog/text"\n'
        'for f in token score; do cp "$out/1best_recog/text" "$out/1best_recog/$f"; done\n'
    )
    fake.chmod(0o755)
    p = _avsr(rec, "--stage", "8", "--stop_stage", "8", "--modality", "vsr",
              "--inference_nj", "1", "--python", str(fake))  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:]
    assert "test (clean): 1 hypotheses for the 2 reference utterances of data/test" in p.stdout
    assert "WARNING: 1 failed at decode time" in p.stdout
    assert "spktest_0 RuntimeError: out of memory" in p.stdout

"""egs/lrs3 stages 1-3 on a tree in LRS3 layout (the tiny synthetic corpus).

The synthetic corpus is written with the real LRS3 layout (``pretrain/``,
``trainval/``, ``test/``, ``<speaker>/<clip>.mp4`` + ``.txt``); the recipe is
copied as in ``egs/`` (shared pieces linked back) and run exactly as a user
would on LRS3: ``LRS3=<tree> ./run.sh --stage 1 --stop_stage 3``, i.e. LRS3
parsing and pretrain segmentation, MediaPipe mouth ROIs at 96 px from H.264
video, 16 kHz audio, and the length/empty-text filter.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from egs_recipe import copy_recipe, recipe_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lrs3_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("corpus") / "LRS3"
    proc = subprocess.run(
        [sys.executable, "-m", "msrs.bin.synth_corpus", "--out", str(tree),
         "--preset", "tiny", "--nj", "2", "--progress", "false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    for split in ("pretrain", "trainval", "test"):
        assert list((tree / split).glob("*/*.mp4")), split
    return tree


def _run(rec: Path, tree: Path, *args: str, timeout: int = 900):
    return subprocess.run(
        ["bash", "./run.sh", *args],
        cwd=rec,
        env=recipe_env(LRS3=str(tree), LRS3_LANDMARKS="", NOISE_FILE=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def test_stages_1_to_3_on_an_lrs3_layout_tree(lrs3_tree, tmp_path):
    rec = copy_recipe("lrs3", tmp_path)
    proc = _run(rec, lrs3_tree, "--stage", "1", "--stop_stage", "3", "--nj", "2")
    assert proc.returncode == 0, proc.stdout[-6000:]
    n_test = len(list((lrs3_tree / "test").glob("*/*.mp4")))
    for s in ("train", "valid", "test"):
        text = (rec / "data" / s / "text").read_text().splitlines()
        assert text, s
        dump = rec / "dump" / s
        videos = (dump / "video.scp").read_text().splitlines()
        assert len(videos) == len((dump / "text").read_text().splitlines()) > 0
        assert (dump / "wav.scp").stat().st_size > 0
    assert len((rec / "data" / "test" / "text").read_text().splitlines()) == n_test
    # stage 1 warns that this is not the standard test set (issue 13)
    assert f"data/test has {n_test} utterances" in proc.stdout
    assert "the standard LRS3 test set has 1,321 / 9,890" in proc.stdout
    # stage 2 printed its disk-space estimate before starting
    assert "stage 2 needs about" in proc.stdout and "(mp4 CRF 23)" in proc.stdout
    # validation: trainval clips only (AV-HuBERT's rule), their speakers stay in train
    valid_utts = (rec / "data" / "valid" / "text").read_text().split("\n")
    assert all("_trainval_" in line for line in valid_utts if line)
    # pretrain and trainval clips both reach the training set
    train_keys = (rec / "dump" / "train" / "text").read_text()
    assert "pretrain" in train_keys and "trainval" in train_keys
    # the ROIs are 96x96 grayscale crops (Auto-AVSR size), one per video frame
    import numpy as np

    frames_of = dict(
        line.split() for line in (rec / "dump" / "train" / "utt2num_frames").read_text().splitlines()
    )
    uid, path = (rec / "dump" / "train" / "video.scp").read_text().split("\n")[0].split(maxsplit=1)
    path = Path(path) if Path(path).is_absolute() else rec / path
    from msrs.data.roi_video import read_roi

    assert path.suffix == ".mp4"  # the default: grey H.264 (docs/data.md, "ROI storage")
    roi = read_roi(path)
    assert roi.shape[1:] == (96, 96) and roi.dtype == np.uint8, (roi.shape, roi.dtype)
    assert roi.shape[0] == int(frames_of[uid])

    # a finished stage is skipped on rerun
    again = _run(rec, lrs3_tree, "--stage", "1", "--stop_stage", "3", "--nj", "2", timeout=300)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "already done" in again.stdout and "already extracted" in again.stdout


def test_missing_corpus_is_a_clear_error(tmp_path):
    rec = copy_recipe("lrs3", tmp_path)
    proc = _run(rec, tmp_path / "no_such_lrs3", "--stage", "1", "--stop_stage", "1", timeout=120)
    assert proc.returncode != 0
    assert "no_such_lrs3" in proc.stdout and "not found" in proc.stdout

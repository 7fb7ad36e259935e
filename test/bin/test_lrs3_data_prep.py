"""python -m msrs.bin.lrs3_data_prep on a small LRS3-layout tree."""

import numpy as np

from msrs.bin.lrs3_data_prep import main
from msrs.data import video_io
from msrs.data.datadir import DataDir
from msrs.data.lrs3 import Transcript, format_transcript


def _clip(root, split, spk, clip, text):
    mp4 = root / split / spk / f"{clip}.mp4"
    video_io.encode_video(
        mp4,
        np.zeros((25, 32, 32), np.uint8),
        25,
        np.zeros(16000, np.float32),
        preset="ultrafast",
    )
    mp4.with_suffix(".txt").write_text(format_transcript(Transcript(text, "4")))


def test_prepares_the_three_sets(tmp_path, caplog):
    root = tmp_path / "LRS3"
    for spk in ("aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"):
        _clip(root, "trainval", spk, "50001", "one two")
        _clip(root, "pretrain", spk, "00001", "three")
    _clip(root, "test", "ttttttttttt", "00001", "four")
    ids = tmp_path / "valid.id"
    ids.write_text("trainval/bbbbbbbbbbb/50001\n")
    rc = main(
        [
            "--lrs3",
            str(root),
            "--out",
            str(tmp_path / "data"),
            "--valid_list",
            str(ids),
            "--nj",
            "1",
            "--progress",
            "false",
            "--train_set",
            "tr",
        ]
    )
    assert rc == 0
    tr = DataDir.load(tmp_path / "data" / "tr")
    assert len(tr.text) == 5 and tr.text["aaaaaaaaaaa_trainval_50001"] == "ONE TWO"
    assert list(DataDir.load(tmp_path / "data" / "valid").text) == [
        "bbbbbbbbbbb_trainval_50001"
    ]
    assert list(DataDir.load(tmp_path / "data" / "test").text) == [
        "ttttttttttt_test_00001"
    ]
    assert '"failed_clips": 0' in caplog.text


def test_errors_name_the_problem(tmp_path, caplog):
    assert main(["--lrs3", str(tmp_path), "--out", str(tmp_path / "d")]) == 1
    assert "no pretrain/trainval/test folders" in caplog.text
    assert (
        main(["--lrs3", str(tmp_path), "--valid_list", str(tmp_path / "nope.id")]) == 1
    )
    assert "--valid_list" in caplog.text and "not found" in caplog.text

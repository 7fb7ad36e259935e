"""python -m msrs.bin.subset_data with the recipe's options."""

from msrs.bin.subset_data import main
from msrs.data.datadir import DataDir


def _dump(path):
    d = DataDir()
    for i in range(10):
        u = f"s_trainval_{i:05d}"
        d.text[u] = "" if i == 3 else f"W{i}"
        d.utt2spk[u] = "s"
        d.video[u] = f"/x/{u}.npy"
        d.wav[u] = f"/x/{u}.wav"
        d.utt2num_frames[u] = 10 * (i + 1)  # 10..100 frames
    d.save(path)


def test_recipe_stage3_options(tmp_path):
    _dump(tmp_path / "raw")
    rc = main(
        [
            "--src",
            str(tmp_path / "raw"),
            "--dst",
            str(tmp_path / "f"),
            "--min_frames",
            "20",
            "--max_frames",
            "80",
            "--drop_empty_text",
            "true",
        ]
    )
    assert rc == 0
    kept = DataDir.load(tmp_path / "f").utt2num_frames
    assert sorted(kept.values()) == [20, 30, 50, 60, 70, 80]  # 40 frames had empty text
    assert (
        main(
            [
                "--src",
                str(tmp_path / "raw"),
                "--dst",
                str(tmp_path / "all"),
                "--drop_empty_text",
                "false",
            ]
        )
        == 0
    )
    assert len(DataDir.load(tmp_path / "all").text) == 10


def test_curriculum_and_hours(tmp_path):
    _dump(tmp_path / "raw")
    assert (
        main(
            [
                "--data",
                str(tmp_path / "raw"),
                "--out",
                str(tmp_path / "4s"),
                "--max_duration",
                "2",
            ]
        )
        == 0
    )
    assert max(DataDir.load(tmp_path / "4s").utt2num_frames.values()) <= 50
    assert (
        main(
            [
                "--src",
                str(tmp_path / "raw"),
                "--dst",
                str(tmp_path / "h"),
                "--hours",
                str(10 / 3600),
            ]
        )
        == 0
    )
    assert sum(DataDir.load(tmp_path / "h").utt2num_frames.values()) <= 250


def test_errors(tmp_path, caplog):
    assert main(["--src", str(tmp_path / "none"), "--dst", str(tmp_path / "o")]) == 1
    assert "data directory not found" in caplog.text

"""Kaldi-style data directories: sorted atomic writes, loading, subsets."""

import pytest

from msrs.data.datadir import DataDir, DataDirError, Segment, read_kv, spk2utt, write_kv


def test_write_kv_sorts_in_byte_order(tmp_path):
    path = tmp_path / "text"
    write_kv(path, {"b_x": "2", "B_y": "1", "a_z": "HELLO WORLD", "a": "0"})
    lines = path.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == [
        "B_y",
        "a",
        "a_z",
        "b_x",
    ]  # LC_ALL=C order
    assert read_kv(path)["a_z"] == "HELLO WORLD"
    assert not list(tmp_path.glob("*.partial"))


def test_invalid_and_duplicate_keys(tmp_path):
    with pytest.raises(DataDirError, match="invalid key"):
        write_kv(tmp_path / "x", {"a b": "1"})
    (tmp_path / "dup").write_text("u1 A\nu1 B\n")
    with pytest.raises(DataDirError, match=r"dup:2: duplicate key 'u1'"):
        read_kv(tmp_path / "dup")
    with pytest.raises(DataDirError, match="file not found"):
        read_kv(tmp_path / "missing")


def test_spk2utt_groups_sorted_utterances():
    assert spk2utt({"s2_b": "s2", "s1_b": "s1", "s1_a": "s1"}) == {
        "s1": "s1_a s1_b",
        "s2": "s2_b",
    }


def test_save_load_subset_round_trip(tmp_path):
    d = DataDir(
        text={"s_pretrain_1_00": "A B", "s_pretrain_1_01": "C", "s_trainval_5": "D"},
        utt2spk={"s_pretrain_1_00": "s", "s_pretrain_1_01": "s", "s_trainval_5": "s"},
        video={"s_pretrain_1": "/x/1.mp4", "s_trainval_5": "/x/5.mp4"},
        wav={"s_pretrain_1": "/x/1.mp4", "s_trainval_5": "/x/5.mp4"},
        segments={
            "s_pretrain_1_00": Segment("s_pretrain_1", 0.0, 5.125),
            "s_pretrain_1_01": Segment("s_pretrain_1", 5.125, 9.0),
            "s_trainval_5": Segment("s_trainval_5", 0.0, 2.0),
        },
        utt2dur={
            "s_pretrain_1_00": 5.125,
            "s_pretrain_1_01": 3.875,
            "s_trainval_5": 2.0,
        },
    )
    d.save(tmp_path / "d")
    assert (
        tmp_path / "d" / "spk2utt"
    ).read_text() == "s s_pretrain_1_00 s_pretrain_1_01 s_trainval_5\n"
    back = DataDir.load(tmp_path / "d")
    assert back.text == d.text and back.segments == d.segments and back.video == d.video
    assert back.recording("s_pretrain_1_01") == Segment("s_pretrain_1", 5.125, 9.0)
    sub = back.subset(["s_trainval_5"])
    assert sub.video == {"s_trainval_5": "/x/5.mp4"} and list(sub.segments) == [
        "s_trainval_5"
    ]


def test_without_segments_utt_is_the_recording(tmp_path):
    d = DataDir(text={"u": "A"}, utt2spk={"u": "s"}, video={"u": "/a.mp4"})
    d.save(tmp_path / "d")
    assert not (tmp_path / "d" / "segments").exists()
    assert DataDir.load(tmp_path / "d").recording("u") == Segment("u", 0.0, None)


def test_load_reports_inconsistent_files(tmp_path):
    (tmp_path / "text").write_text("u1 A\nu2 B\n")
    (tmp_path / "utt2spk").write_text("u1 s\n")
    with pytest.raises(DataDirError, match="disagree on 1 utterances, e.g. u2"):
        DataDir.load(tmp_path)
    with pytest.raises(DataDirError, match="data directory not found"):
        DataDir.load(tmp_path / "nope")

"""Subsets by duration, hours (nested) and id pattern."""

import pytest

from msrs.data.datadir import DataDir, DataDirError
from msrs.data.subset import durations, select, write_subset


@pytest.fixture
def dump(tmp_path):
    d = DataDir()
    for i in range(40):
        utt = f"spk{i % 4}_{'pretrain' if i % 2 else 'trainval'}_{i:05d}"
        d.text[utt] = f"WORD {i}"
        d.utt2spk[utt] = f"spk{i % 4}"
        d.video[utt] = f"/d/{utt}.npy"
        d.wav[utt] = f"/d/{utt}.wav"
        d.utt2num_frames[utt] = 25 * (1 + i % 10)  # 1..10 s
    d.save(tmp_path / "dump")
    return tmp_path / "dump"


def test_duration_filters(dump):
    d = DataDir.load(dump)
    assert len(select(d, max_duration=4.0)) == 16
    assert all(durations(d)[u] >= 9 for u in select(d, min_duration=9.0))
    assert select(d, utt_regex="_trainval_") == sorted(
        u for u in d.text if "_trainval_" in u
    )
    with pytest.raises(ValueError, match="--utt_regex: invalid pattern"):
        select(d, utt_regex="(")


def test_hours_subsets_are_nested_and_bounded(dump):
    d = DataDir.load(dump)
    total = sum(durations(d).values())
    small = select(d, hours=30 / 3600, seed=1)
    large = select(d, hours=120 / 3600, seed=1)
    assert set(small) < set(large)
    assert sum(durations(d)[u] for u in large) <= 120 + 1e-6 < total
    assert select(d, hours=30 / 3600, seed=1) == small
    assert select(d, hours=30 / 3600, seed=2) != small
    with pytest.raises(ValueError, match="--hours must be positive"):
        select(d, hours=0)


def test_write_subset_filters_every_file(dump, tmp_path):
    d = DataDir.load(dump)
    utts = select(d, max_duration=2.0)
    info = write_subset(dump, tmp_path / "sub", utts)
    sub = DataDir.load(tmp_path / "sub")
    assert (
        sorted(sub.text) == utts
        and set(sub.video) == set(utts)
        and set(sub.utt2num_frames) == set(utts)
    )
    assert info["utterances"] == len(utts) and info["hours"] == pytest.approx(
        sum(durations(sub).values()) / 3600
    )
    with pytest.raises(ValueError, match="--out must differ"):
        write_subset(dump, dump, utts)


def test_durations_need_lengths(tmp_path):
    d = DataDir(text={"u": "A"}, utt2spk={"u": "s"})
    with pytest.raises(DataDirError, match="needs utt2num_frames or utt2dur"):
        select(d, max_duration=3.0, where="x")

"""Stage 1 on a generated LRS3-layout fixture with the awkward cases."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from msrs.data.datadir import DataDir, read_kv
from msrs.data.lrs3 import Transcript, Word, format_transcript
from msrs.data.lrs3_prep import (
    choose_valid_clips,
    choose_valid_speakers,
    prepare_lrs3,
    read_valid_list,
    scan_corpus,
)
from msrs.data import video_io

REPO = Path(__file__).resolve().parents[2]


def _clip(root, split, spk, clip, seconds, text, words=(), raw_txt=None):
    n = int(round(seconds * 25))
    frames = np.full((n, 32, 32), 100, np.uint8)
    mp4 = root / split / spk / f"{clip}.mp4"
    audio = np.zeros(n * 640, np.float32)
    video_io.encode_video(mp4, frames, 25, audio, 16000, preset="ultrafast")
    if raw_txt is not None:
        mp4.with_suffix(".txt").write_bytes(raw_txt)
    elif text is not None:
        ws = [Word(w, s, e, 5.0) for w, s, e in words]
        mp4.with_suffix(".txt").write_text(format_transcript(Transcript(text, "4", ws)))
    return mp4


@pytest.fixture(scope="module")
def lrs3(tmp_path_factory):
    root = tmp_path_factory.mktemp("LRS3")
    # 10 s pretrain talk, words every 0.5 s, the last two past the video end
    words = [(f"W{i}", 0.5 * i + 0.1, 0.5 * i + 0.45) for i in range(22)]
    _clip(
        root,
        "pretrain",
        "spkA00000aa",
        "00001",
        10.0,
        " ".join(w for w, _, _ in words),
        words,
    )
    _clip(
        root, "pretrain", "spkA00000aa", "00002", 1.0, "YES", [("YES", 0.2, 0.6)]
    )  # one word
    latin1 = "Text:  CAF\xc9 {LG} NA\xefVE\nConf:  4\n".encode("latin-1")
    _clip(root, "trainval", "spkA00000aa", "50001", 1.2, None, raw_txt=latin1)
    for spk in ("spkB00000bb", "spkC00000cc", "spkD00000dd"):
        for k in (1, 2):
            _clip(root, "trainval", spk, f"5000{k}", 1.0, f"hello {spk[:4]} {k}")
    _clip(root, "trainval", "spkB00000bb", "50003", 1.0, None)  # no transcript
    bad = root / "trainval" / "spkB00000bb" / "50004.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    bad.with_suffix(".txt").write_text("Text:  BROKEN\nConf:  4\n")
    _clip(
        root, "trainval", "spkC00000cc", "50003", 1.0, "{LG}"
    )  # empty after normalisation
    _clip(root, "test", "spkT00000tt", "00001", 1.0, "TEST ONE")
    _clip(root, "test", "spkT00000tt", "00002", 1.0, "TEST TWO")
    return root


def test_scan_finds_clips_in_recording_order(lrs3):
    clips = scan_corpus(lrs3)
    recs = [c.rec for c in clips]
    assert recs == sorted(recs) and len(recs) == 14
    assert "spkA00000aa_pretrain_00001" in recs
    with pytest.raises(FileNotFoundError, match="no pretrain/trainval/test folders"):
        scan_corpus(lrs3 / "pretrain" / "spkA00000aa")


def test_prepare_with_automatic_speaker_disjoint_validation(lrs3, tmp_path):
    counts = prepare_lrs3(
        lrs3,
        tmp_path,
        max_duration=4.0,
        seg_margin=0.1,
        valid_fraction=0.3,
        nj=2,
        progress=False,
        valid_mode="speakers",
    )
    train, valid, test = (
        DataDir.load(tmp_path / s) for s in ("train", "valid", "test")
    )
    assert counts["failed_clips"] == 3
    # the long pretrain talk is cut at word boundaries into <= 4 s utterances;
    # words past the 10 s video end are dropped
    segs = {
        u: s for u, s in train.segments.items() if s.rec == "spkA00000aa_pretrain_00001"
    }
    assert len(segs) == 3 and all(
        u.startswith("spkA00000aa_pretrain_00001_0") for u in segs
    )
    assert all(s.end - s.start <= 4.0 + 1e-9 for s in segs.values())
    words = " ".join(train.text[u] for u in sorted(segs)).split()
    assert words == [f"W{i}" for i in range(20)]
    assert max(s.end for s in segs.values()) <= 10.0
    # short clips are whole utterances (segment = whole recording)
    assert train.segments["spkA00000aa_pretrain_00002"].start == 0.0
    assert train.text["spkA00000aa_pretrain_00002"] == "YES"
    assert train.text["spkA00000aa_trainval_50001"] == "CAFE NAIVE"
    assert train.utt2dur["spkA00000aa_trainval_50001"] == pytest.approx(1.2)
    # validation: whole speakers, absent from train; test = test/
    vspk = set(valid.utt2spk.values())
    assert vspk and not vspk & set(train.utt2spk.values())
    assert not valid.segments and set(test.text) == {
        "spkT00000tt_test_00001",
        "spkT00000tt_test_00002",
    }
    assert test.text["spkT00000tt_test_00001"] == "TEST ONE"
    # failures name the clip and the problem
    fails = {
        **read_kv(tmp_path / "train" / "failures.txt"),
        **read_kv(tmp_path / "valid" / "failures.txt"),
    }
    assert len(fails) == 3 and read_kv(tmp_path / "test" / "failures.txt") == {}
    for rec in read_kv(
        tmp_path / "valid" / "failures.txt"
    ):  # a failed clip is listed with its set
        assert rec.split("_")[0] in vspk
    assert (
        "transcript" in fails["spkB00000bb_trainval_50003"]
        and "not found" in fails["spkB00000bb_trainval_50003"]
    )
    assert "50004.mp4" in fails["spkB00000bb_trainval_50004"]
    assert "empty transcript" in fails["spkC00000cc_trainval_50003"]
    # the directories pass the recipe's validator
    for s in ("train", "valid", "test"):
        out = subprocess.run(
            [str(REPO / "utils" / "validate_data_dir.sh"), str(tmp_path / s)],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout + out.stderr


def test_validation_is_deterministic():
    from msrs.data.lrs3_prep import Utterance

    utts = [
        Utterance(f"{s}_trainval_{i}", "", s, "trainval", "A", 0, 1, False)
        for s in ("a", "b", "c", "d", "e")
        for i in range(3)
    ]
    first = choose_valid_speakers(utts, 0.2, 1200)
    assert first == choose_valid_speakers(list(reversed(utts)), 0.2, 1200)
    assert len(first) == 1
    assert len(choose_valid_speakers(utts, 1.0, 1200)) == 4  # never every speaker


def test_default_validation_is_avhubert_rule_a_uniform_sample_of_trainval_clips(
    lrs3, tmp_path
):
    prepare_lrs3(lrs3, tmp_path, valid_fraction=0.4, nj=1, progress=False)
    train, valid = (DataDir.load(tmp_path / s) for s in ("train", "valid"))
    trainval = [u for u in {**train.text, **valid.text} if "_trainval_" in u]
    assert valid.text and all("_trainval_" in u for u in valid.text)
    assert len(valid.text) == round(0.4 * len(trainval))
    assert not set(valid.text) & set(train.text)
    # no speaker constraint: only the chosen clips leave train, the rest of
    # their speakers' clips (pretrain included) stay
    vspk = set(valid.utt2spk.values())
    assert len(set(train.utt2spk.values()) & vspk) == len(vspk)
    with pytest.raises(ValueError, match="valid_mode must be one of"):
        prepare_lrs3(lrs3, tmp_path / "x", valid_mode="random", progress=False)


def test_clip_sample_is_deterministic_and_capped():
    from msrs.data.lrs3_prep import Utterance

    utts = [
        Utterance(f"{s}_trainval_{i}", f"{s}_trainval_{i}", s, "trainval", "A", 0, 1, False)
        for s in ("a", "b", "c", "d")
        for i in range(50)
    ] + [Utterance("a_pretrain_1", "a_pretrain_1", "a", "pretrain", "A", 0, 1, False)]
    first = choose_valid_clips(utts, 0.05, 1200)
    assert first == choose_valid_clips(list(reversed(utts)), 0.05, 1200)
    assert len(first) == 10 and all("_trainval_" in r for r in first)
    assert len(choose_valid_clips(utts, 0.05, 3)) == 3  # at most valid_max_utts
    assert len(choose_valid_clips(utts, 1.0, 1200)) == 199  # never every clip
    assert choose_valid_clips(utts, 0.0, 1200) == []
    # spread over speakers, not one speaker's block
    assert len({r.split("_")[0] for r in first}) > 1


def test_prepare_with_an_avhubert_valid_list(lrs3, tmp_path):
    ids = tmp_path / "lrs3-valid.id"
    ids.write_text("trainval/spkB00000bb/50001\ntrainval/spkZ00000zz/50001\n")
    assert read_valid_list(ids) == [
        "spkB00000bb_trainval_50001",
        "spkZ00000zz_trainval_50001",
    ]
    prepare_lrs3(lrs3, tmp_path / "data", valid_list=ids, progress=False, nj=1)
    valid = DataDir.load(tmp_path / "data" / "valid")
    train = DataDir.load(tmp_path / "data" / "train")
    assert list(valid.text) == ["spkB00000bb_trainval_50001"]
    assert "spkB00000bb_trainval_50001" not in train.text
    assert "spkB00000bb_trainval_50002" in train.text  # only the listed ids leave train
    # with the 16 s default nothing is cut: no segments file
    assert (
        train.segments == {} and not (tmp_path / "data" / "train" / "segments").exists()
    )

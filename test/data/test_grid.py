"""GRID file names, alignments, layouts and splits on the two real GRID clips."""

import shutil
from pathlib import Path

import pytest

from msrs.data.datadir import read_kv
from msrs.data.grid import GridFormatError, read_align, scan_grid, sentence_from_id
from msrs.data.grid_prep import assign_sets, prepare_grid

REAL = Path(__file__).parent / "grid"


def test_sentence_id_spells_the_six_words():
    assert sentence_from_id("bbaf2n") == ["BIN", "BLUE", "AT", "F", "TWO", "NOW"]
    assert sentence_from_id("swwp2s") == ["SET", "WHITE", "WITH", "P", "TWO", "SOON"]
    assert sentence_from_id("lgizza") == ["LAY", "GREEN", "IN", "Z", "ZERO", "AGAIN"]
    with pytest.raises(GridFormatError, match="character 4 .'w'. is not a GRID code"):
        sentence_from_id("bbaw2n")  # GRID has no letter W
    with pytest.raises(GridFormatError, match="6 characters"):
        sentence_from_id("bba")


def test_real_alignment_drops_silence_and_converts_times():
    words = read_align(REAL / "swwp2s.align")
    assert [w.word for w in words] == "SET WHITE WITH P TWO SOON".split()
    assert words[0].start == pytest.approx(12250 / 25000) and words[-1].end == pytest.approx(2.21)


def test_malformed_alignment_names_file_and_line(tmp_path):
    bad = tmp_path / "x.align"
    bad.write_text("0 100 sil\n100 abc bin\n")
    with pytest.raises(GridFormatError, match=r"x.align:2: non-integer time"):
        read_align(bad)
    (tmp_path / "y.align").write_text("0 75000 sil\n")
    with pytest.raises(GridFormatError, match="no words"):
        read_align(tmp_path / "y.align")


def _tree(root: Path, layout: str) -> Path:
    """The real clips as s2 (swwp2s, aligned) and s9 (bbaf2n, no alignment)."""
    (root / "s2").mkdir(parents=True)
    (root / "s9").mkdir()
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", root / "s2")
    shutil.copy(REAL / "bbaf2n.mpg", root / "s9")
    align_dir = {"zenodo": root / "alignments" / "s2", "site": root / "s2" / "align", "loose": root / "align"}[layout]
    align_dir.mkdir(parents=True)
    shutil.copy(REAL / "swwp2s.align", align_dir)
    return root


@pytest.mark.parametrize("layout", ["zenodo", "site", "loose"])
def test_scan_finds_speaker_clip_id_and_alignment(tmp_path, layout):
    clips = {c.utt: c for c in scan_grid(_tree(tmp_path / "GRID", layout))}
    assert sorted(clips) == ["s2_swwp2s", "s9_bbaf2n"]
    assert clips["s2_swwp2s"].align.name == "swwp2s.align"  # "id2_vcd_" prefix ignored
    assert clips["s9_bbaf2n"].align is None and "bbaf2n.align" in clips["s9_bbaf2n"].align_problem


def test_loose_alignment_of_a_sentence_two_speakers_said_is_refused(tmp_path):
    root = _tree(tmp_path / "GRID", "loose")
    (root / "s3").mkdir()
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", root / "s3" / "swwp2s.mpg")
    clips = {c.utt: c for c in scan_grid(root)}
    assert clips["s2_swwp2s"].align is None and "several speakers" in clips["s2_swwp2s"].align_problem


def test_prepare_lists_missing_and_disagreeing_alignments(tmp_path):
    root = _tree(tmp_path / "GRID", "zenodo")
    (root / "s20").mkdir()
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", root / "s20" / "sbaf2n.mpg")  # name says SET BLUE ...
    (root / "alignments" / "s20").mkdir()
    shutil.copy(REAL / "swwp2s.align", root / "alignments" / "s20" / "sbaf2n.align")
    counts = prepare_grid(root, tmp_path / "data", "unseen", valid_per_speaker=0, nj=1, progress=False)
    assert counts == {"train": 0, "valid": 0, "test": 1, "failed_clips": 2}
    test = tmp_path / "data" / "test"
    assert read_kv(test / "text") == {"s2_swwp2s": "SET WHITE WITH P TWO SOON"}
    assert read_kv(test / "video.scp")["s2_swwp2s"].endswith("id2_vcd_swwp2s.mpg")
    assert read_kv(test / "utt2spk") == {"s2_swwp2s": "s2"}
    bad = read_kv(test / "failures.txt")["s20_sbaf2n"]
    assert "disagree" in bad and "SET WHITE WITH P TWO SOON" in bad and "SET BLUE AT F TWO NOW" in bad
    missing = read_kv(tmp_path / "data" / "train" / "failures.txt")["s9_bbaf2n"]
    assert "bbaf2n.align" in missing and "not found" in missing


def test_text_from_file_names_needs_no_alignment(tmp_path):
    root = _tree(tmp_path / "GRID", "zenodo")
    prepare_grid(root, tmp_path / "data", "overlapped", test_per_speaker=0,
                 valid_per_speaker=0, text_source="filename", nj=1, progress=False)  # fmt: skip
    assert read_kv(tmp_path / "data" / "train" / "text") == {
        "s2_swwp2s": "SET WHITE WITH P TWO SOON", "s9_bbaf2n": "BIN BLUE AT F TWO NOW",
    }  # fmt: skip


def test_unseen_split_without_any_test_speaker_is_an_error(tmp_path):
    root = tmp_path / "GRID"
    (root / "s9").mkdir(parents=True)
    shutil.copy(REAL / "bbaf2n.mpg", root / "s9")
    with pytest.raises(ValueError, match="none of the test speakers s1, s2, s20, s22"):
        prepare_grid(root, tmp_path / "data", "unseen", progress=False)


class _Clip:
    def __init__(self, speaker, clip):
        self.speaker, self.clip, self.utt = speaker, clip, f"{speaker}_{clip}"


def test_splits_hold_out_speakers_or_a_fixed_share_per_speaker():
    clips = [_Clip(f"s{s}", f"c{k:03d}") for s in (1, 2, 3, 20, 22, 23) for k in range(40)]
    unseen = assign_sets(clips, "unseen", valid_per_speaker=3)
    assert {c.speaker for c in clips if unseen[c.utt] == "test"} == {"s1", "s2", "s20", "s22"}
    assert sum(v == "valid" for v in unseen.values()) == 6  # 3 of s3 and of s23
    over = assign_sets(clips, "overlapped", test_per_speaker=5, valid_per_speaker=2)
    for spk in ("s1", "s3", "s23"):
        roles = [over[c.utt] for c in clips if c.speaker == spk]
        assert roles.count("test") == 5 and roles.count("valid") == 2 and roles.count("train") == 33
    # the held-out sentences depend on the ids, not on the order of the files
    assert assign_sets(list(reversed(clips)), "overlapped", 5, 2) == over

"""utils/combine_data.sh: union of data dirs, duplicates are errors."""

from utils_helpers import make_data_dir, read_table, run

UTTS = sorted(
    f"spk{s}_pre_c{c}_{k:02d}" for s in "ABCD" for c in (1, 2) for k in (0, 1)
)
FILES = (
    "video.scp",
    "wav.scp",
    "text",
    "utt2spk",
    "spk2utt",
    "utt2dur",
    "utt2num_frames",
)


def test_split_and_combine_round_trip(tmp_path):
    full = make_data_dir(tmp_path / "full", UTTS, segments=True, files=FILES)
    assert (
        run(
            "subset_data_dir.sh", "--first", "5", str(full), str(tmp_path / "a")
        ).returncode
        == 0
    )
    assert (
        run(
            "subset_data_dir.sh", "--last", "11", str(full), str(tmp_path / "b")
        ).returncode
        == 0
    )
    # spkC_pre_c1 is a recording shared by both halves (identical lines): allowed
    p = run(
        "combine_data.sh",
        str(tmp_path / "all"),
        str(tmp_path / "b"),
        str(tmp_path / "a"),
    )
    assert p.returncode == 0, p.stderr
    assert "(16 utterances)" in p.stdout
    for name in FILES + ("segments",):
        assert (tmp_path / "all" / name).read_bytes() == (
            full / name
        ).read_bytes(), name
    assert run("validate_data_dir.sh", str(tmp_path / "all")).returncode == 0


def test_duplicate_utterances_are_named(tmp_path):
    a = make_data_dir(tmp_path / "a", UTTS[:6])
    b = make_data_dir(tmp_path / "b", UTTS[4:])
    p = run("combine_data.sh", str(tmp_path / "c"), str(a), str(b))
    assert p.returncode == 1
    assert "2 duplicate utterance id(s)" in p.stderr
    assert f"'{UTTS[4]}' ({a}/" in p.stderr and f"'{UTTS[5]}'" in p.stderr
    assert not (tmp_path / "c").exists()


def test_conflicting_recording_is_an_error(tmp_path):
    a = make_data_dir(tmp_path / "a", UTTS[:2], segments=True)
    b = make_data_dir(tmp_path / "b", UTTS[2:4], segments=True)
    (b / "wav.scp").write_text(
        "spkA_pre_c1 /elsewhere.mp4\nspkA_pre_c2 /corpus/spkA_pre_c2.mp4\n"
    )
    p = run("combine_data.sh", str(tmp_path / "c"), str(a), str(b))
    assert p.returncode == 1
    assert (
        "duplicate recording id(s) in wav.scp with different content: 'spkA_pre_c1'"
        in p.stderr
    )


def test_file_missing_from_a_source_is_dropped(tmp_path):
    a = make_data_dir(tmp_path / "a", UTTS[:6], files=FILES)
    b = make_data_dir(tmp_path / "b", UTTS[6:], files=FILES[:-1])
    (a / "feats_type").write_text("raw\n")
    (b / "feats_type").write_text("raw\n")
    (a / "failures.txt").write_text("x broken\n")
    p = run("combine_data.sh", str(tmp_path / "c"), str(a), str(b))
    assert p.returncode == 0, p.stderr
    assert f"warning: utt2num_frames is missing from {b}; not written" in p.stderr
    assert "failures.txt differs between sources" in p.stderr
    c = tmp_path / "c"
    assert not (c / "utt2num_frames").exists() and not (c / "failures.txt").exists()
    assert (c / "feats_type").read_text() == "raw\n"
    assert sorted(read_table(c / "text")) == UTTS
    assert run("validate_data_dir.sh", str(c)).returncode == 0


def test_sources_with_and_without_segments(tmp_path):
    a = make_data_dir(tmp_path / "a", UTTS[:6], segments=True)
    b = make_data_dir(tmp_path / "b", ["spkE_tv_c9", "spkF_tv_c8"])
    p = run("combine_data.sh", str(tmp_path / "c"), str(a), str(b))
    assert p.returncode == 0, p.stderr
    seg = read_table(tmp_path / "c/segments")
    assert seg["spkE_tv_c9"] == "spkE_tv_c9 0 1.5"
    assert run("validate_data_dir.sh", str(tmp_path / "c")).returncode == 0
    (b / "utt2dur").unlink()
    p = run("combine_data.sh", str(tmp_path / "d"), str(a), str(b))
    assert p.returncode == 1 and "neither segments nor utt2dur" in p.stderr


def test_dest_is_a_source(tmp_path):
    a = make_data_dir(tmp_path / "a", UTTS[:2])
    b = make_data_dir(tmp_path / "b", UTTS[2:4])
    p = run("combine_data.sh", str(a), str(a), str(b))
    assert p.returncode == 1 and "is the same directory as source" in p.stderr
    assert sorted(read_table(a / "text")) == UTTS[:2]

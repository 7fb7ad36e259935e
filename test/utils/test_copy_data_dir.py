"""utils/copy_data_dir.sh: copies with utterance/speaker prefixes."""

from utils_helpers import make_data_dir, read_table, run

UTTS = sorted(f"spk{s}_pre_c{c}_{k:02d}" for s in "AB" for c in (1, 2) for k in (0, 1))


def test_plain_copy_is_identical(tmp_path):
    src = make_data_dir(tmp_path / "src", UTTS, segments=True)
    (src / "feats_type").write_text("raw\n")
    p = run("copy_data_dir.sh", str(src), str(tmp_path / "dst"))
    assert p.returncode == 0, p.stderr
    for f in src.iterdir():
        assert (tmp_path / "dst" / f.name).read_bytes() == f.read_bytes(), f.name


def test_prefixes_with_segments_keep_recordings(tmp_path):
    src = make_data_dir(tmp_path / "src", UTTS, segments=True)
    dst = tmp_path / "dst"
    p = run(
        "copy_data_dir.sh",
        "--utt-prefix",
        "sp0.9-",
        "--spk_prefix",
        "sp0.9-",
        str(src),
        str(dst),
    )
    assert p.returncode == 0, p.stderr
    assert sorted(read_table(dst / "text")) == [f"sp0.9-{u}" for u in UTTS]
    assert read_table(dst / "utt2spk")["sp0.9-spkA_pre_c1_00"] == "sp0.9-spkA"
    assert (
        read_table(dst / "segments")["sp0.9-spkB_pre_c2_01"] == "spkB_pre_c2 2.00 3.50"
    )
    assert (dst / "video.scp").read_bytes() == (src / "video.scp").read_bytes()
    assert (
        read_table(dst / "spk2utt")["sp0.9-spkB"].split()[0] == "sp0.9-spkB_pre_c1_00"
    )
    assert run("validate_data_dir.sh", str(dst)).returncode == 0


def test_without_segments_scps_are_renamed(tmp_path):
    src = make_data_dir(tmp_path / "src", UTTS)
    dst = tmp_path / "dst"
    p = run(
        "copy_data_dir.sh",
        "--utt-prefix=x-",
        "--spk-prefix=x-",
        "--utt-suffix",
        "-v2",
        str(src),
        str(dst),
    )
    assert p.returncode == 0, p.stderr
    assert (
        read_table(dst / "wav.scp")["x-spkA_pre_c1_00-v2"]
        == "/corpus/spkA_pre_c1_00.mp4"
    )
    assert run("validate_data_dir.sh", str(dst)).returncode == 0


def test_errors(tmp_path):
    src = make_data_dir(tmp_path / "src", UTTS)
    p = run("copy_data_dir.sh", str(src), str(src))
    assert p.returncode == 1 and "is the same directory as source" in p.stderr
    p = run("copy_data_dir.sh", str(tmp_path / "nope"), str(tmp_path / "x"))
    assert p.returncode == 1 and "nope: no such directory" in p.stderr
    p = run("copy_data_dir.sh", "--utt-prefx", "a", str(src), str(tmp_path / "x"))
    assert p.returncode != 0 and "unrecognized arguments: --utt-prefx" in p.stderr

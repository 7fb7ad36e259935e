"""utils/subset_data_dir.sh: consistent filtering of every file."""

import pytest

from utils_helpers import make_data_dir, read_table, run

UTTS = sorted(
    f"spk{s}_pre_c{c}_{k:02d}" for s in "ABCD" for c in (1, 2) for k in (0, 1, 2)
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


@pytest.fixture
def src(tmp_path):
    d = make_data_dir(tmp_path / "src", UTTS, segments=True, files=FILES)
    (d / "spk2gender").write_text("spkA f\nspkB m\nspkC f\nspkD m\n")
    (d / "feats_type").write_text("raw\n")
    return d


def check(dest, expected_utts):
    p = run("validate_data_dir.sh", str(dest))
    assert p.returncode == 0, p.stderr
    for name in ("utt2spk", "text", "segments", "utt2dur", "utt2num_frames"):
        assert sorted(read_table(dest / name)) == sorted(expected_utts), name
    recos = {"_".join(u.split("_")[:3]) for u in expected_utts}
    assert set(read_table(dest / "video.scp")) == recos
    assert set(read_table(dest / "wav.scp")) == recos
    assert set(read_table(dest / "spk2gender")) == {
        u.split("_")[0] for u in expected_utts
    }
    assert (dest / "feats_type").read_text() == "raw\n"
    assert (dest / "text").read_text() == "".join(
        line + "\n"
        for line in (dest.parent / "src/text").read_text().splitlines()
        if line.split()[0] in expected_utts
    )


def test_first_and_last(src, tmp_path):
    p = run("subset_data_dir.sh", "--first", "4", str(src), str(tmp_path / "first"))
    assert p.returncode == 0, p.stderr
    assert "wrote 4 of 24 utterances" in p.stdout
    check(tmp_path / "first", UTTS[:4])
    assert (
        run(
            "subset_data_dir.sh", "--last=5", str(src), str(tmp_path / "last")
        ).returncode
        == 0
    )
    check(tmp_path / "last", UTTS[-5:])


def test_random_is_reproducible(src, tmp_path):
    for name in ("r1", "r2"):
        assert (
            run(
                "subset_data_dir.sh",
                "--random",
                "6",
                "--seed",
                "3",
                str(src),
                str(tmp_path / name),
            ).returncode
            == 0
        )
    a, b = read_table(tmp_path / "r1/utt2spk"), read_table(tmp_path / "r2/utt2spk")
    assert a == b and len(a) == 6
    check(tmp_path / "r1", list(a))


def test_utt_list_and_spk_list(src, tmp_path):
    wanted = [UTTS[3], UTTS[10], UTTS[17]]
    (tmp_path / "ids").write_text(
        "".join(f"{u} anything\n" for u in wanted) + "not_an_utt\n"
    )
    p = run(
        "subset_data_dir.sh",
        "--utt-list",
        str(tmp_path / "ids"),
        str(src),
        str(tmp_path / "u"),
    )
    assert p.returncode == 0, p.stderr
    assert "1 of 4 ids" in p.stderr and "'not_an_utt'" in p.stderr
    check(tmp_path / "u", wanted)
    (tmp_path / "spks").write_text("spkB\nspkD\n")
    assert (
        run(
            "subset_data_dir.sh",
            "--spk_list",
            str(tmp_path / "spks"),
            str(src),
            str(tmp_path / "s"),
        ).returncode
        == 0
    )
    check(tmp_path / "s", [u for u in UTTS if u.startswith(("spkB", "spkD"))])


def test_rewriting_dest_removes_stale_files(src, tmp_path):
    dest = tmp_path / "dest"
    assert (
        run("subset_data_dir.sh", "--first", "4", str(src), str(dest)).returncode == 0
    )
    (src / "utt2num_frames").unlink()
    p = run("subset_data_dir.sh", "--first", "2", str(src), str(dest))
    assert p.returncode == 0 and "removed stale data file(s)" in p.stderr
    assert not (dest / "utt2num_frames").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--first", "2", "--last", "2"], "give exactly one of"),
        ([], "give exactly one of"),
        (["--first", "25"], "--first 25: "),
        (["--random", "0"], "--random needs a positive number"),
    ],
)
def test_errors(src, tmp_path, args, message):
    p = run("subset_data_dir.sh", *args, str(src), str(tmp_path / "dest"))
    assert p.returncode == 1 and message in p.stderr
    assert not (tmp_path / "dest").exists()


def test_empty_selection_and_same_dir(src, tmp_path):
    (tmp_path / "ids").write_text("nobody\n")
    p = run(
        "subset_data_dir.sh",
        "--utt-list",
        str(tmp_path / "ids"),
        str(src),
        str(tmp_path / "dest"),
    )
    assert p.returncode == 1 and "no utterance of" in p.stderr
    p = run("subset_data_dir.sh", "--first", "2", str(src), str(src))
    assert p.returncode == 1 and "is the same directory as source" in p.stderr

"""utils/fix_data_dir.sh: repairs make validate pass, with backups."""

import random

from utils_helpers import make_data_dir, read_table, run

UTTS = [f"spk{s}_pre_c{c}_{k:02d}" for s in "ABC" for c in (1, 2) for k in (0, 1)]


def shuffle(path, seed=0):
    lines = path.read_text().splitlines()
    random.Random(seed).shuffle(lines)
    path.write_text("".join(line + "\n" for line in lines))


def test_round_trip_repairs_and_backs_up(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS, segments=True)
    for name in ("text", "utt2spk", "video.scp", "segments"):
        shuffle(d / name)
    text = read_table(d / "text")
    del text["spkA_pre_c1_01"]  # missing from text
    text["spkB_pre_c2_00"] = ""  # empty transcript
    (d / "text").write_text(
        "".join(f"{k} {v}".rstrip() + "\n" for k, v in text.items())
    )
    with open(d / "utt2dur", "a") as f:
        f.write("spkZ_pre_c9_00 2.0\n")  # only in one file
    wav = read_table(d / "wav.scp")
    del wav["spkC_pre_c2"]  # recording of two utterances missing from wav.scp
    (d / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav.items())))
    with open(d / "video.scp", "a") as f:
        f.write("spkQ_unused_rec /x.mp4\n")
    (d / "spk2utt").unlink()
    originals = {
        n: (d / n).read_bytes()
        for n in ("text", "utt2spk", "video.scp", "segments", "utt2dur")
    }
    assert run("validate_data_dir.sh", str(d)).returncode == 1

    p = run("fix_data_dir.sh", str(d))
    assert p.returncode == 0, p.stderr
    assert f"{d}: kept 8 of 13 utterances (removed 5)" in p.stdout
    assert "2 removed: recording missing from wav.scp" in p.stdout
    assert "1 removed: missing from text" in p.stdout
    assert "1 removed: missing from utt2spk" in p.stdout
    assert "1 removed: empty transcript in text" in p.stdout
    v = run("validate_data_dir.sh", str(d))
    assert v.returncode == 0, v.stderr
    gone = {"spkA_pre_c1_01", "spkB_pre_c2_00", "spkC_pre_c2_00", "spkC_pre_c2_01"}
    for name in ("utt2spk", "text", "segments", "utt2dur"):
        assert set(read_table(d / name)) == set(UTTS) - gone
    assert "spkQ_unused_rec" not in read_table(d / "video.scp")
    assert "spkC_pre_c2" not in read_table(d / "video.scp")
    for name, content in originals.items():
        assert (d / ".backup" / name).read_bytes() == content
    assert not (d / ".backup" / "spk2utt").exists()  # it did not exist before

    # idempotent: nothing more to change, no new backups
    p = run("fix_data_dir.sh", str(d))
    assert (
        p.returncode == 0
        and "nothing to change" in p.stdout
        and "removed 0" in p.stdout
    )
    assert sorted(x.name for x in (d / ".backup").iterdir()) == sorted(originals)


def test_earlier_backups_are_kept(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS)
    shuffle(d / "text")
    first = (d / "text").read_bytes()
    assert run("fix_data_dir.sh", str(d)).returncode == 0
    shuffle(d / "text", seed=1)
    second = (d / "text").read_bytes()
    assert run("fix_data_dir.sh", str(d)).returncode == 0
    assert (d / ".backup/text").read_bytes() == first
    assert (d / ".backup/text.2").read_bytes() == second


def test_duplicates(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS)
    with open(d / "utt2dur", "a") as f:
        f.write("spkA_pre_c1_00 1.5\n")  # exact duplicate: dropped silently
    with open(d / "text", "a") as f:
        f.write("spkB_pre_c1_00 OTHER WORDS\n")  # conflicting: the utterance goes
    p = run("fix_data_dir.sh", str(d))
    assert p.returncode == 0, p.stderr
    assert "1 removed: conflicting duplicate lines in text" in p.stdout
    assert len(read_table(d / "utt2dur")) == 11
    assert run("validate_data_dir.sh", str(d)).returncode == 0


def test_nothing_left_is_an_error_and_changes_nothing(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS)
    (d / "text").write_text("other_utt HELLO\n")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    p = run("fix_data_dir.sh", str(d))
    assert p.returncode == 1
    assert (
        "no utterance is valid in every file" in p.stderr
        and "nothing changed" in p.stderr
    )
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_needs_utt2spk(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS, files=("text", "wav.scp"))
    p = run("fix_data_dir.sh", str(d))
    assert p.returncode == 1 and f"{d}/utt2spk: missing" in p.stderr

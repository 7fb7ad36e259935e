"""utils/validate_data_dir.sh: each kind of problem is caught and located."""

import pytest

from utils_helpers import make_data_dir, run

UTTS = [
    "spkA_pre_c1_00",
    "spkA_pre_c1_01",
    "spkA_pre_c2_00",
    "spkB_tv_c3_00",
    "spkB_tv_c3_01",
]


def edit(path, fn):
    lines = path.read_text().splitlines()
    path.write_text("".join(line + "\n" for line in fn(lines)))


@pytest.mark.parametrize("segments", [False, True])
def test_valid_dir_passes(tmp_path, segments):
    d = make_data_dir(tmp_path / "d", UTTS, segments=segments)
    (d / "feats_type").write_text("raw\n")  # not a data file: ignored
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 0, p.stderr
    assert "OK (5 utterances, 2 speakers" in p.stdout
    assert ("3 recordings" in p.stdout) == segments


def mutate_unsorted(d):
    edit(d / "text", lambda ls: [ls[1], ls[0]] + ls[2:])


def mutate_duplicate(d):
    edit(d / "utt2spk", lambda ls: ls[:3] + [ls[2]] + ls[3:])


def mutate_missing_utt(d):
    edit(d / "text", lambda ls: ls[:1] + ls[2:])


def mutate_extra_utt(d):
    edit(d / "utt2dur", lambda ls: ls + ["spkZ_x_y_00 1.0"])


def mutate_spk2utt(d):
    edit(
        d / "spk2utt",
        lambda ls: [
            "spkA spkA_pre_c1_00 spkA_pre_c1_01 spkA_pre_c2_00 spkB_tv_c3_00",
            "spkB spkB_tv_c3_01",
        ],
    )


def mutate_reco_missing(d):
    edit(d / "wav.scp", lambda ls: ls[:1] + ls[2:])


def mutate_empty_text(d):
    edit(d / "text", lambda ls: ls[:2] + ["spkA_pre_c2_00"] + ls[3:])


def mutate_bad_duration(d):
    edit(d / "utt2dur", lambda ls: ls[:3] + ["spkB_tv_c3_00 1,5"] + ls[4:])


def mutate_zero_duration(d):
    edit(d / "utt2dur", lambda ls: ls[:3] + ["spkB_tv_c3_00 0"] + ls[4:])


def mutate_bad_frames(d):
    edit(d / "utt2num_frames", lambda ls: ls[:1] + ["spkA_pre_c1_01 3.5"] + ls[2:])


def mutate_bad_segment(d):
    edit(d / "segments", lambda ls: ls[:4] + ["spkB_tv_c3_01 spkB_tv_c3 4.0 3.0"])


def mutate_dos(d):
    (d / "video.scp").write_bytes(
        (d / "video.scp").read_bytes().replace(b"\n", b"\r\n", 1)
    )


def mutate_blank_line(d):
    edit(d / "utt2spk", lambda ls: ls[:2] + [""] + ls[2:])


def mutate_bad_utt2spk(d):
    edit(d / "utt2spk", lambda ls: ls[:4] + ["spkB_tv_c3_01 spkB extra"])


def mutate_unknown_spk2gender(d):
    (d / "spk2gender").write_text("spkA f\nspkQ m\n")


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (
            mutate_unsorted,
            "text:2: not sorted (LC_ALL=C): key 'spkA_pre_c1_00' comes after 'spkA_pre_c1_01'",
        ),
        (
            mutate_duplicate,
            "utt2spk:4: duplicate key 'spkA_pre_c2_00' (first at line 3)",
        ),
        (
            mutate_missing_utt,
            "text: utterance 'spkA_pre_c1_01' (utt2spk line 2) is missing",
        ),
        (mutate_extra_utt, "utt2dur:6: utterance 'spkZ_x_y_00' is not in utt2spk"),
        (
            mutate_spk2utt,
            "spk2utt:1: utterance 'spkB_tv_c3_00' is listed under speaker 'spkA' but utt2spk line 4 says 'spkB'",
        ),
        (
            mutate_reco_missing,
            "wav.scp: recording 'spkA_pre_c2' (segments line 3) is missing",
        ),
        (mutate_empty_text, "text:3: empty transcript for utterance 'spkA_pre_c2_00'"),
        (mutate_bad_duration, "utt2dur:4: non-numeric duration '1,5'"),
        (mutate_zero_duration, "utt2dur:4: duration must be > 0, got 0"),
        (mutate_bad_frames, "utt2num_frames:2: expected a positive integer, got '3.5'"),
        (mutate_bad_segment, "segments:5: bad times: start 4.0, end 3.0"),
        (mutate_dos, "video.scp:1: carriage return at end of line"),
        (mutate_blank_line, "utt2spk:3: empty line"),
        (
            mutate_bad_utt2spk,
            "utt2spk:5: expected '<utterance> <speaker>', got 3 fields",
        ),
        (mutate_unknown_spk2gender, "spk2gender:2: speaker 'spkQ' is not in utt2spk"),
    ],
)
def test_problem_is_reported_with_file_and_line(tmp_path, mutate, expected):
    files = (
        "video.scp",
        "wav.scp",
        "text",
        "utt2spk",
        "spk2utt",
        "utt2dur",
        "utt2num_frames",
    )
    d = make_data_dir(tmp_path / "d", UTTS, segments=True, files=files)
    mutate(d)
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 1
    assert f"validate_data_dir.sh: {d}/{expected}" in p.stderr, p.stderr
    assert "problem(s) found" in p.stderr


def test_missing_required_files_and_no_options(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS, files=("wav.scp", "utt2spk", "spk2utt"))
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 1
    assert f"{d}/video.scp: missing (pass --no-video" in p.stderr
    assert f"{d}/text: missing (pass --no-text" in p.stderr
    assert (
        run("validate_data_dir.sh", "--no-video", "--no-text", str(d)).returncode == 0
    )
    (d / "spk2utt").unlink()
    p = run("validate_data_dir.sh", "--no-video", "--no_text", str(d))
    assert (
        p.returncode == 1
        and "spk2utt: missing (create it with utils/fix_data_dir.sh" in p.stderr
    )


def test_utterance_keyed_scp_without_segments(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS)
    edit(d / "video.scp", lambda ls: ls[1:])
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 1
    assert (
        f"{d}/video.scp: utterance 'spkA_pre_c1_00' (utt2spk line 1) is missing"
        in p.stderr
    )


def test_unused_recording_and_non_contiguous_speaker_are_warnings(tmp_path):
    d = make_data_dir(tmp_path / "d", UTTS, segments=True)
    edit(d / "video.scp", lambda ls: ls + ["spkZ_unused_rec /x.mp4"])
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 0, p.stderr
    assert (
        "warning: " + f"{d}/video.scp:4: recording 'spkZ_unused_rec' is not used"
        in p.stderr
    )
    d2 = make_data_dir(
        tmp_path / "d2", ["a_1", "b_2", "c_3"], files=("utt2spk", "spk2utt")
    )
    (d2 / "utt2spk").write_text("a_1 X\nb_2 Y\nc_3 X\n")
    (d2 / "spk2utt").write_text("X a_1 c_3\nY b_2\n")
    p = run("validate_data_dir.sh", "--no-text", "--no-video", "--no-wav", str(d2))
    assert p.returncode == 0 and "speaker 'X' are not contiguous" in p.stderr


def test_message_cap(tmp_path):
    utts = [f"spk{i:03d}_x_y" for i in range(40)]
    d = make_data_dir(tmp_path / "d", utts)
    edit(d / "text", lambda ls: [ln.split()[0] for ln in ls])
    p = run("validate_data_dir.sh", str(d))
    assert p.returncode == 1
    assert p.stderr.count("empty transcript") == 20
    assert "... and 20 more" in p.stderr and "40 problem(s) found" in p.stderr
    p = run("validate_data_dir.sh", "--max-messages", "0", str(d))
    assert p.stderr.count("empty transcript") == 40


def test_not_a_directory(tmp_path):
    p = run("validate_data_dir.sh", str(tmp_path / "nope"))
    assert p.returncode == 1 and "nope: no such directory" in p.stderr

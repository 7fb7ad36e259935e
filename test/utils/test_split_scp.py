"""utils/split_scp.sh: contiguous balanced splits, optionally by speaker."""

import random

import pytest

from utils_helpers import run


def lines(path):
    return path.read_text().splitlines()


def test_balanced_contiguous_split(tmp_path):
    src = tmp_path / "keys.scp"
    src.write_text("".join(f"utt{i:02d} /p/{i}.wav\n" for i in range(10)))
    outs = [tmp_path / "split" / f"keys.{j}.scp" for j in (1, 2, 3)]
    p = run("split_scp.sh", str(src), *map(str, outs))
    assert p.returncode == 0, p.stderr
    parts = [lines(o) for o in outs]
    assert [len(x) for x in parts] == [4, 3, 3]
    assert sum(parts, []) == lines(src)


@pytest.mark.parametrize("n,k", [(7, 7), (100, 8), (5, 1)])
def test_sizes_differ_by_at_most_one(tmp_path, n, k):
    src = tmp_path / "in.scp"
    src.write_text("".join(f"u{i:03d} x\n" for i in range(n)))
    outs = [str(tmp_path / f"o.{j}") for j in range(k)]
    assert run("split_scp.sh", str(src), *outs).returncode == 0
    sizes = [len(lines(tmp_path / f"o.{j}")) for j in range(k)]
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_more_outputs_than_lines_is_an_error(tmp_path):
    src = tmp_path / "in.scp"
    src.write_text("a 1\nb 2\n")
    p = run("split_scp.sh", str(src), *(str(tmp_path / f"o.{j}") for j in range(3)))
    assert p.returncode == 1
    assert "2 line(s) cannot be split into 3 non-empty parts" in p.stderr
    assert not (tmp_path / "o.0").exists()


def speaker_data(tmp_path, counts):
    """An scp and utt2spk with ``counts[i]`` utterances for speaker i (contiguous)."""
    scp, u2s = [], []
    for s, c in enumerate(counts):
        for u in range(c):
            utt = f"s{s:02d}_u{u:02d}"
            scp.append(f"{utt} /p/{utt}.mp4\n")
            u2s.append(f"{utt} s{s:02d}\n")
    (tmp_path / "in.scp").write_text("".join(scp))
    (tmp_path / "utt2spk").write_text("".join(u2s))
    return tmp_path / "in.scp", tmp_path / "utt2spk"


def check_speaker_split(outs, u2s_path, src):
    spk = dict(line.split() for line in lines(u2s_path))
    owner = {}
    for j, o in enumerate(outs):
        part = lines(o)
        assert part, f"{o} is empty"
        for line in part:
            s = spk[line.split()[0]]
            assert owner.setdefault(s, j) == j, f"speaker {s} is in two outputs"
    assert sum((lines(o) for o in outs), []) == lines(src)


def test_utt2spk_keeps_speakers_together_and_balances(tmp_path):
    src, u2s = speaker_data(tmp_path, [5, 1, 1, 3])
    outs = [tmp_path / "o.1", tmp_path / "o.2"]
    p = run("split_scp.sh", "--utt2spk", str(u2s), str(src), *map(str, outs))
    assert p.returncode == 0, p.stderr
    check_speaker_split(outs, u2s, src)
    assert [len(lines(o)) for o in outs] == [5, 5]


@pytest.mark.parametrize("seed", range(4))
def test_utt2spk_random_sizes(tmp_path, seed):
    rng = random.Random(seed)
    counts = [rng.randint(1, 9) for _ in range(rng.randint(6, 20))]
    k = rng.randint(2, 6)
    src, u2s = speaker_data(tmp_path, counts)
    outs = [tmp_path / f"o.{j}" for j in range(k)]
    p = run("split_scp.sh", f"--utt2spk={u2s}", str(src), *map(str, outs))
    assert p.returncode == 0, p.stderr
    check_speaker_split(outs, u2s, src)
    sizes = [len(lines(o)) for o in outs]
    # balanced as whole speakers allow: no part exceeds the ideal by more than the largest speaker
    assert max(sizes) <= sum(counts) / k + max(counts)


def test_more_outputs_than_speakers_is_an_error(tmp_path):
    src, u2s = speaker_data(tmp_path, [3, 4])
    p = run(
        "split_scp.sh",
        "--utt2spk",
        str(u2s),
        str(src),
        *(str(tmp_path / f"o.{j}") for j in range(3)),
    )
    assert (
        p.returncode == 1
        and "2 speaker(s) cannot be split into 3 non-empty parts" in p.stderr
    )


def test_non_contiguous_speaker_is_an_error(tmp_path):
    (tmp_path / "in.scp").write_text("a1 x\nb1 x\na2 x\n")
    (tmp_path / "utt2spk").write_text("a1 A\na2 A\nb1 B\n")
    p = run(
        "split_scp.sh",
        "--utt2spk",
        str(tmp_path / "utt2spk"),
        str(tmp_path / "in.scp"),
        str(tmp_path / "o1"),
        str(tmp_path / "o2"),
    )
    assert p.returncode == 1
    assert "in.scp:3: lines of speaker 'A' are not contiguous (also line 1)" in p.stderr


def test_utterance_missing_from_utt2spk(tmp_path):
    (tmp_path / "in.scp").write_text("a1 x\nzz x\n")
    (tmp_path / "utt2spk").write_text("a1 A\n")
    p = run(
        "split_scp.sh",
        "--utt2spk",
        str(tmp_path / "utt2spk"),
        str(tmp_path / "in.scp"),
        str(tmp_path / "o1"),
    )
    assert p.returncode == 1 and "in.scp:2: utterance 'zz' is not in" in p.stderr


def test_missing_input_file(tmp_path):
    p = run("split_scp.sh", str(tmp_path / "nope.scp"), str(tmp_path / "o1"))
    assert p.returncode == 1 and "nope.scp: No such file or directory" in p.stderr

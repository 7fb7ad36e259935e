"""``python -m msrs.bin.score`` as the recipe runs it (subprocess)."""

import json
import subprocess
import sys


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "msrs.bin.score", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_writes_reports_and_finds_utt2spk(tmp_path):
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    (data / "text").write_text("spkA_1 HELLO WORLD\nspkB_2 GOOD MORNING\n")
    (data / "utt2spk").write_text("spkA_1 spkA\nspkB_2 spkB\n")
    hyp = tmp_path / "hyp"
    hyp.write_text("spkA_1 HELLO WORD\nspkB_2 GOOD MORNING\n")
    out = tmp_path / "exp" / "decode_test"
    p = _run(
        "--ref",
        str(data / "text"),
        "--hyp",
        str(hyp),
        "--out",
        str(out),
        "--name",
        "m/test",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert "WER 25.00% [0.00, 50.00] (95% CI)" in p.stderr  # resamples: 0, 25 or 50 %
    s = json.loads((out / "scores.json").read_text())
    assert (
        s["name"] == "m/test" and s["wer"] == 25.0 and s["cer"] == round(100 / 23, 4)
    )  # 1 deletion in 23 chars incl. spaces
    wrd = (out / "result.wrd.txt").read_text()
    assert "| spkA" in wrd and "| spkB" in wrd  # utt2spk found next to --ref
    assert "REF:  hello WORLD" in wrd and "HYP:  hello WORD" in wrd
    assert s["wer_ci"]["lo"] == 0.0 and s["wer_ci"]["hi"] == 50.0
    assert (out / "utt_errors.tsv").read_text().splitlines()[1:] == [
        "spkA_1\tspkA\t2\t1\t1\t0\t0",
        "spkB_2\tspkB\t2\t0\t0\t0\t0",
    ]


def test_cli_error_exit_names_unknown_ids(tmp_path):
    (tmp_path / "ref").write_text("u1 A B\n")
    (tmp_path / "hyp").write_text("u1 A B\nu7 C\n")
    p = _run(
        "--ref", "ref", "--hyp", "hyp", "--out", "o", "--utt2spk", "none", cwd=tmp_path
    )
    assert p.returncode == 1
    assert "u7" in p.stderr and "not in the reference" in p.stderr
    assert "Traceback" not in p.stderr

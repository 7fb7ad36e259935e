import json
import logging

import jiwer
import pytest

from msrs.scoring.scorer import score
from msrs.scoring.text_io import ScoringError, read_text


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    ref = _write(
        tmp_path / "ref",
        [
            "s1_a THE CAT SAT ON THE MAT",
            "s1_b HELLO WORLD",
            "s2_c",
            "s2_d GOOD MORNING",
        ],
    )
    hyp = _write(
        tmp_path / "hyp", ["s1_a THE CAT SET ON THE MAT NOW", "s1_b HELLO", "s2_c UH"]
    )
    return ref, hyp


def test_scores_json_counts_missing_and_empty_reference(tmp_path, files, caplog):
    ref, hyp = files
    with caplog.at_level(logging.WARNING):
        s = score(ref, hyp, tmp_path / "out", name="sys")
    assert "s2_d" in caplog.text  # the missing utterance is named
    out = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert out == json.loads(json.dumps(s))
    assert out["n_utts"] == 4 and out["missing"] == ["s2_d"] and out["n_missing"] == 1
    w = out["word"]
    # s2_d (missing) = 2 deletions; s2_c (empty ref) = 1 insertion.
    assert (w["corr"], w["sub"], w["del"], w["ins"], w["n_ref"]) == (6, 1, 3, 2, 10)
    assert out["wer"] == pytest.approx(60.0)
    assert out["cer"] == pytest.approx(
        100 * out["char"]["err"] / out["char"]["n_ref"], abs=1e-3
    )
    assert (tmp_path / "out" / "result.wrd.txt").is_file()
    assert (tmp_path / "out" / "result.chr.txt").is_file()
    assert not (tmp_path / "out" / "result.txt").exists()
    text = (tmp_path / "out" / "result.wrd.txt").read_text()
    assert "no hypothesis for this utterance" in text


def test_matches_jiwer_on_a_complete_corpus(tmp_path):
    refs = ["A QUICK BROWN FOX", "JUMPS OVER", "THE LAZY DOG TODAY"]
    hyps = ["A QUICK BROWN BOX", "JUMPS OVER THE", "LAZY DOG TO DAY"]
    ref = _write(tmp_path / "ref", [f"u{i} {t}" for i, t in enumerate(refs)])
    hyp = _write(tmp_path / "hyp", [f"u{i} {t}" for i, t in enumerate(hyps)])
    s = score(ref, hyp, tmp_path / "o", token="word")
    assert s["wer"] == pytest.approx(100 * jiwer.wer(refs, hyps), abs=1e-3)
    assert s["cer"] == pytest.approx(100 * jiwer.cer(refs, hyps), abs=1e-3)
    assert (tmp_path / "o" / "result.txt").is_file()
    assert "REF:" in (tmp_path / "o" / "result.txt").read_text()


def test_unknown_hypothesis_ids_are_an_error_naming_them(tmp_path, files):
    ref, _ = files
    hyp = _write(tmp_path / "bad", ["s1_a X", "zz_9 Y", "zz_8 Z"])
    with pytest.raises(ScoringError, match="zz_9, zz_8"):
        score(ref, hyp, tmp_path / "o")
    assert not (tmp_path / "o" / "scores.json").exists()


def test_bad_inputs(tmp_path, files):
    ref, hyp = files
    dup = _write(tmp_path / "dup", ["a X", "a Y"])
    with pytest.raises(ScoringError, match=r"dup:2: .*'a' appears twice"):
        read_text(dup)
    with pytest.raises(ScoringError, match="no such file"):
        score(tmp_path / "nope", hyp, tmp_path / "o")
    with pytest.raises(ScoringError, match="--token"):
        score(ref, hyp, tmp_path / "o", token="phone")
    (tmp_path / "latin1").write_bytes(b"a caf\xe9\n")
    with pytest.raises(ScoringError, match="UTF-8"):
        read_text(tmp_path / "latin1")


def test_per_speaker_rows_with_utt2spk(tmp_path, files):
    ref, hyp = files
    u2s = _write(tmp_path / "utt2spk", ["s1_a s1", "s1_b s1", "s2_c s2", "s2_d s2"])
    score(ref, hyp, tmp_path / "o", token="word", utt2spk_path=u2s)
    text = (tmp_path / "o" / "result.txt").read_text()
    assert "| s1 " in text and "| s2 " in text


def test_scored_n_of_m_in_scores_json_result_and_log(tmp_path, files, caplog):
    """Issue 13, failure 4: the score states how many reference utterances
    had a hypothesis; the missing one counts as deletions."""
    from msrs.bin import score as score_cli

    ref, hyp = files
    with caplog.at_level(logging.INFO):
        rc = score_cli.main(["--ref", str(ref), "--hyp", str(hyp), "--out", str(tmp_path / "o")])
    assert rc == 0
    line = "scored 3 of 4 reference utterances (1 without hypothesis counted as all deletions)"
    assert line in caplog.text
    out = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert out["scored"] == line and out["n_scored"] == 3
    assert f"Scored: {line}" in (tmp_path / "o" / "result.wrd.txt").read_text()
    full = _write(tmp_path / "hyp_full", ["s1_a X", "s1_b X", "s2_c", "s2_d X"])
    assert score(ref, full, tmp_path / "f")["scored"] == "scored 4 of 4 reference utterances"

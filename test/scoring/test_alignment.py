import jiwer
import pytest

from msrs.scoring.alignment import ErrorCounts, align_utterances, tokenize


def test_tokenize_word_and_char():
    assert tokenize("  THE  CAT ", "word") == ["THE", "CAT"]
    assert tokenize("AB  C", "char") == ["A", "B", "<space>", "C"]
    assert tokenize("", "char") == []
    with pytest.raises(ValueError, match="unit"):
        tokenize("A", "phone")


def _align(ref, hyp, unit="word"):
    return align_utterances(["u"], [tokenize(ref, unit)], [tokenize(hyp, unit)])[0]


def test_counts_and_pairs_for_sub_del_ins():
    ua = _align("THE CAT SAT ON THE MAT", "THE CAT SET ON THE MAT NOW")
    c = ua.counts
    assert (c.corr, c.sub, c.dels, c.ins) == (5, 1, 0, 1)
    assert ("S", "SAT", "SET") in ua.pairs
    assert ua.pairs[-1] == ("I", None, "NOW")
    assert c.n_ref == 6 and c.n_hyp == 7 and c.n_snt_err == 1

    ua = _align("HELLO WORLD", "HELLO")
    assert ua.pairs == [("C", "HELLO", "HELLO"), ("D", "WORLD", None)]


def test_empty_reference_and_empty_hypothesis():
    ua = _align("", "UH UM")
    assert (ua.counts.corr, ua.counts.ins, ua.counts.n_ref) == (0, 2, 0)
    # Undefined rate: denominator 1, so each insertion counts 100 %.
    assert ua.counts.rates()["err"] == 200.0
    ua = _align("", "")
    assert ua.counts.err == 0 and ua.counts.rates()["err"] == 0.0 and ua.pairs == []
    ua = _align("A B", "")
    assert ua.counts.dels == 2


def test_totals_match_jiwer_wer_and_cer():
    refs = ["THE CAT SAT", "A QUICK BROWN FOX", "HELLO THERE WORLD", "NO"]
    hyps = ["THE CAT SAT DOWN", "A QUICK FOX", "HELO THERE WORD", "KNOW"]
    for unit, ref_metric in (
        ("word", jiwer.wer(refs, hyps)),
        ("char", jiwer.cer(refs, hyps)),
    ):
        uas = align_utterances(
            list("abcd"),
            [tokenize(r, unit) for r in refs],
            [tokenize(h, unit) for h in hyps],
        )
        total = ErrorCounts()
        for ua in uas:
            total += ua.counts
        assert total.rates()["err"] == pytest.approx(100 * ref_metric)
        assert total.n_snt == 4 and total.n_snt_err == 4


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        align_utterances(["a", "b"], [["A"]], [["A"]])

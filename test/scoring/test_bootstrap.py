"""Bootstrap confidence interval of the corpus WER (msrs.scoring.bootstrap)."""

import numpy as np
import pytest

from msrs.scoring import score
from msrs.scoring.bootstrap import (
    bootstrap_wer_ci,
    bootstrap_wer_samples,
    read_utt_errors,
)


def test_every_utterance_at_the_same_rate_gives_a_zero_width_interval():
    # each resample has 1 error per 4 words: WER 25 % whatever is drawn
    assert bootstrap_wer_ci([1, 2, 3], [4, 8, 12]) == (25.0, 25.0, 25.0)


def test_two_utterances_resample_to_the_hand_computed_distribution():
    # utterance a: 0 of 2 words wrong, b: 2 of 2.  A resample of 2 draws is
    # aa (p 1/4) -> 0 %, ab or ba (1/2) -> 50 %, bb (1/4) -> 100 %.
    samples = bootstrap_wer_samples([0, 2], [2, 2], n_resamples=4000, seed=1)
    values, counts = np.unique(samples, return_counts=True)
    assert values.tolist() == [0.0, 50.0, 100.0]
    assert np.allclose(counts / 4000, [0.25, 0.5, 0.25], atol=0.03)
    wer, lo, hi = bootstrap_wer_ci([0, 2], [2, 2], n_resamples=4000, seed=1)
    assert (wer, lo, hi) == (50.0, 0.0, 100.0)  # 2.5th / 97.5th percentiles
    wer, lo, hi = bootstrap_wer_ci([0, 2], [2, 2], n_resamples=4000, seed=1, level=0.4)
    assert (lo, hi) == (50.0, 50.0)  # the 30th and 70th percentiles lie in the 50 % mass


def test_corpus_wer_weights_utterances_by_their_words():
    # 1 error in 1 word and 0 in 9: corpus WER 10 %, not the mean of 100 % and 0 %
    wer, lo, hi = bootstrap_wer_ci([1, 0], [1, 9])
    assert wer == pytest.approx(10.0)
    assert (lo, hi) == (0.0, 100.0)
    # resamples: "aa" 2/2 = 100 %, "ab" 1/10 = 10 %, "bb" 0/18 = 0 %
    assert np.unique(bootstrap_wer_samples([1, 0], [1, 9])).tolist() == [0.0, 10.0, 100.0]


def _simulated(n, seed, p=0.2):
    rng = np.random.default_rng(seed)
    words = rng.integers(4, 9, size=n)
    errors = rng.binomial(words, p)
    return errors, words


def test_interval_contains_the_point_and_narrows_with_more_utterances():
    widths = []
    for n in (30, 300, 3000):
        errors, words = _simulated(n, seed=n)
        wer, lo, hi = bootstrap_wer_ci(errors, words)
        assert lo <= wer <= hi
        assert wer == pytest.approx(100 * errors.sum() / words.sum())
        widths.append(hi - lo)
    assert widths[0] > 2 * widths[1] > 4 * widths[2]  # ~ 1/sqrt(n): x3.2 per step
    # about 2 * 1.96 * sqrt(p (1 - p) / words) for independent words
    assert widths[2] == pytest.approx(2 * 1.96 * 100 * np.sqrt(0.16 / words.sum()), rel=0.25)


def test_fixed_seed_is_reproducible_and_seeds_differ():
    errors, words = _simulated(50, seed=3)
    assert bootstrap_wer_ci(errors, words) == bootstrap_wer_ci(errors, words, seed=0)
    assert bootstrap_wer_ci(errors, words, seed=1) != bootstrap_wer_ci(errors, words)


def test_groups_resample_whole_speakers():
    # two speakers, one perfect and one all wrong: resampling speakers spans 0-100 %,
    # resampling their 40 utterances stays near 50 %
    errors = [0] * 20 + [5] * 20
    words = [5] * 40
    spk = ["a"] * 20 + ["b"] * 20
    _, lo_u, hi_u = bootstrap_wer_ci(errors, words)
    _, lo_s, hi_s = bootstrap_wer_ci(errors, words, groups=spk)
    assert 30 < lo_u < 50 < hi_u < 70
    assert (lo_s, hi_s) == (0.0, 100.0)


@pytest.mark.parametrize(
    "errors, words, kw",
    [
        ([], [], {}),
        ([1], [1, 2], {}),
        ([1], [0], {}),
        ([-1], [3], {}),
        ([1], [3], {"n_resamples": 0}),
        ([1], [3], {"level": 1.0}),
    ],
)
def test_bad_input_is_refused(errors, words, kw):
    with pytest.raises(ValueError):
        bootstrap_wer_ci(errors, words, **kw)


def test_score_writes_the_interval_and_per_utterance_counts(tmp_path):
    ref = tmp_path / "text"
    ref.write_text("u1 A B C D\nu2 A B\nu3 A B C\n")
    hyp = tmp_path / "hyp"
    hyp.write_text("u1 A X C D\nu2 A B E\n")  # u3 missing: 3 deletions
    spk = tmp_path / "utt2spk"
    spk.write_text("u1 s1\nu2 s1\nu3 s2\n")
    s = score(ref, hyp, tmp_path / "score", utt2spk_path=spk)
    assert s["wer"] == pytest.approx(100 * 5 / 9, abs=1e-4)
    ci = s["wer_ci"]
    assert ci["lo"] <= s["wer"] <= ci["hi"] and ci["level"] == 0.95
    assert ci["n_resamples"] == 1000
    u = read_utt_errors(tmp_path / "score")
    assert u.utt_ids == ["u1", "u2", "u3"] and u.speakers == ["s1", "s1", "s2"]
    assert u.errors == [1, 1, 3] and u.ref_words == [4, 2, 3]
    assert u.wer_ci() == pytest.approx((100 * 5 / 9, ci["lo"], ci["hi"]), abs=1e-4)
    # the same counts from the sclite-like result file (score dirs without the tsv)
    v = read_utt_errors(tmp_path / "score" / "result.wrd.txt")
    assert (v.utt_ids, v.errors, v.ref_words) == (u.utt_ids, u.errors, u.ref_words)
    assert "WER 95% CI" in (tmp_path / "score" / "result.wrd.txt").read_text()
    assert "wer_ci" not in score(ref, hyp, tmp_path / "s0", n_resamples=0)

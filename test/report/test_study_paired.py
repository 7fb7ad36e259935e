"""Seed-paired comparisons of MSRS with dense (msrs/report/study_paired.py): pairs are
matched by seed, the sign test is two-sided over the unequal seeds, and the section
reads the claim pairs that ran (AVSR clean and in babble)."""

from pathlib import Path

import pytest

from msrs.report.study import SetScore, StudyRun
from msrs.report.study_claims import Study
from msrs.report.study_paired import paired_section, paired_wers, pairs_to_read, sign_test


def _runs(spec):
    """spec: method -> {seed: {test set: WER %}}."""
    return {m: [StudyRun(m, k, Path(m), tests={t: SetScore(w) for t, w in sets.items()})
                for k, sets in seeds.items()] for m, seeds in spec.items()}


def test_sign_test_is_two_sided_and_leaves_ties_out():
    nine_of_ten = [(k, 40.0, 50.0) for k in range(9)] + [(9, 60.0, 50.0)]
    lower, higher, ties, p = sign_test(nine_of_ten)
    assert (lower, higher, ties) == (9, 1, 0)
    assert p == pytest.approx(22 / 1024)  # 2 * (C(10,9) + C(10,10)) / 2^10
    with_tie = [(k, 40.0, 50.0) for k in range(9)] + [(9, 50.0, 50.0)]
    lower, higher, ties, p = sign_test(with_tie)
    assert (lower, higher, ties) == (9, 0, 1)
    assert p == pytest.approx(2 / 512)  # 9 untied seeds
    assert sign_test([(0, 50.0, 50.0)])[3] is None
    assert sign_test([(0, 10.0, 50.0), (1, 10.0, 50.0), (2, 10.0, 50.0)])[3] == pytest.approx(0.25)


def test_pairs_are_matched_by_seed_not_by_position():
    runs = _runs({"msrs": {0: {"test": 10.0}, 1: {"test": 20.0}, 2: {"test": 30.0}},
                  "dense": {1: {"test": 25.0}, 2: {"test": 35.0}, 3: {"test": 5.0}}})
    assert paired_wers(Study(runs, None, 80.0), "msrs", "dense") == [(1, 20.0, 25.0), (2, 30.0, 35.0)]
    # a seed with no score on the set is not paired
    runs["dense"][0].tests = {}
    assert paired_wers(Study(runs, None, 80.0), "msrs", "dense") == [(2, 30.0, 35.0)]


def test_section_reads_each_claim_pair_that_ran_with_avsr_clean_and_babble():
    wer = lambda clean, babble: {"test": clean, "test@snr0": babble + 1, "test@snr-5": babble}  # noqa: E731
    runs = _runs({
        "msrs_d8_lr25e4": {k: {"test": 60.0} for k in range(5)},
        "dense_d8_lr25e4": {k: {"test": 80.0 if k < 3 else 40.0} for k in range(5)},
        "avsr_msrs_d8_lr25e4": {k: wer(40.0, 50.0) for k in range(4)},
        "avsr_dense_d8_lr25e4": {k: wer(50.0, 45.0) for k in range(4)},
        "msrs_quarter": {0: {"test": 70.0}, 1: {"test": 70.0}},   # no dense_quarter: not read
        "rigl_d8_lr25e4": {0: {"test": 20.0}, 1: {"test": 20.0}},  # not a claim pair
    })
    assert [p[1] for p in pairs_to_read(runs)] == ["msrs_d8_lr25e4", "avsr_msrs_d8_lr25e4"]
    text = "\n".join(paired_section(runs, Study(runs, None, 80.0)))
    rows = [l for l in text.splitlines() if l.startswith("| `")]
    assert len(rows) == 3 and "rigl" not in text and "quarter" not in text
    vsr, clean, babble = rows
    assert "| test | 5 | 3 / 2 / 0 | -4.0 ± 21.9 | 1.00 |" in vsr
    assert "| test clean | 4 | 4 / 0 / 0 | -10.0 ± 0.0 | 0.12 |" in clean
    assert "| test, babble -5 dB | 4 | 0 / 4 / 0 | 5.0 ± 0.0 | 0.12 |" in babble  # the hardest SNR
    assert paired_section(_runs({"msrs": {0: {"test": 1.0}}}), Study({}, None, 80.0)) == []

"""MSRS's sensitivity variants in the study report (msrs/report/study_tuning.py): the
variant is picked on validation accuracy, never on test WER, and compared with the
other methods of its regime."""

from msrs.report.study import load_study
from msrs.report.study_claims import Study
from msrs.report.study_tuning import selected, tuning_section, variant_change, variants
from test_study_report import _write_run

D8 = "encoder_conf:\n  num_blocks: 8\n  dropout_rate: 0.0\nmodel_conf:\n  ctc_weight: 0.5\noptim_conf:\n  lr: 0.0025\n"


def _runs(exp, spec):
    """spec: method -> (validation accuracies per epoch, test WER %); two seeds each."""
    for m, (accs, wer) in spec.items():
        for s in (0, 1):
            _write_run(exp, f"vsr_study_{m}_s{s}", accs, wers={"test": wer},
                       errors={"test": [round(wer / 100 * 6)] * 20}, config=D8)
    return load_study(exp)


def test_variant_change_names_what_each_variant_changes_and_nothing_for_other_methods():
    assert "pruned_init: keep" in variant_change("msrs_keep")
    assert variant_change("msrs_den50") == "target density 50 % instead of 30 %"
    assert variant_change("msrs_search6") == "mask searched for 6 epochs instead of 3"
    for m in ("msrs", "msrs_sparse", "msrs_ls", "rigl", "msrs_bogus"):
        assert variant_change(m) is None, m


def test_the_variant_is_picked_on_validation_accuracy_even_when_another_has_a_lower_test_wer(tmp_path):
    runs = _runs(tmp_path, {
        "dense_d8_lr25e4": ([0.3, 0.31, 0.3], 95.0),
        "msrs_d8_lr25e4": ([0.3, 0.40, 0.45], 60.0),
        "msrs_keep_d8_lr25e4": ([0.3, 0.45, 0.50], 65.0),   # best on validation, worse on test
        "msrs_den50_d8_lr25e4": ([0.3, 0.35, 0.40], 20.0),  # best on test, worst on validation
        "rigl_d8_lr25e4": ([0.3, 0.6, 0.7], 25.0),
        "msrs_d4": ([0.3, 0.6, 0.7], 30.0),                 # another regime: not a variant here
    })
    assert variants(runs, "_d8_lr25e4") == ["msrs_den50_d8_lr25e4", "msrs_keep_d8_lr25e4"]
    assert selected(runs, "_d8_lr25e4") == "msrs_keep_d8_lr25e4"
    assert selected(runs, "_d4") is None  # no variant ran there
    text = "\n".join(tuning_section(runs, Study(runs, 0.7, 80.0)))
    assert "Validation picks `msrs_keep_d8_lr25e4`" in text
    assert "`rigl_d8_lr25e4` lower" in text and "`dense_d8_lr25e4` higher" in text
    assert "`msrs_d8_lr25e4`" in text and "msrs_d4" not in text
    row = next(l for l in text.splitlines() if l.startswith("| msrs_den50_d8_lr25e4 "))
    assert "target density 50 %" in row and row.rstrip().endswith("| lower |")  # 20 % vs msrs's 60 %


def test_with_no_variant_the_section_is_absent_and_ties_keep_the_studys_msrs(tmp_path):
    runs = _runs(tmp_path, {"dense_d8_lr25e4": ([0.3, 0.31], 95.0), "msrs_d8_lr25e4": ([0.3, 0.4], 60.0)})
    assert tuning_section(runs, Study(runs, 0.7, 80.0)) == []
    runs = _runs(tmp_path / "tie", {"msrs_d8_lr25e4": ([0.3, 0.4], 60.0), "msrs_keep_d8_lr25e4": ([0.3, 0.4], 50.0)})
    assert selected(runs, "_d8_lr25e4") == "msrs_d8_lr25e4"

"""MSRS's sensitivity variants in the study report (msrs/report/study_tuning.py): the
variant is picked on validation accuracy, never on test WER, and compared with the
other methods of its regime."""

from msrs.report.study import load_study
from msrs.report.study_claims import Study
from msrs.report.study_tuning import selected, tuning_section, variant_change, variant_of, variants
from test_study_report import _write_run

D8 = "encoder_conf:\n  num_blocks: 8\n  dropout_rate: 0.0\nmodel_conf:\n  ctc_weight: 0.5\noptim_conf:\n  lr: 0.0025\n"


def _runs(exp, spec):
    """spec: method -> (validation accuracies per epoch, test WER %[, babble -5 dB WER %]);
    two seeds each; ``avsr_*`` methods are AVSR runs, ``asr_*`` ASR runs."""
    for m, (accs, *wer) in spec.items():
        wers = dict(zip(("test", "test@snr-5"), wer))
        for s in (0, 1):
            mod, _, rest = m.partition("_") if m.startswith(("avsr_", "asr_")) else ("vsr", "", m)
            name = f"{mod}_study_{rest}_s{s}"
            _write_run(exp, name, accs, wers=wers, config=D8,
                       errors={k: [round(w / 100 * 6)] * 20 for k, w in wers.items()})
    return load_study(exp)


def test_variant_change_names_what_each_variant_changes_and_nothing_for_other_methods():
    assert "pruned_init: keep" in variant_change("msrs_keep")
    assert variant_change("msrs_den50") == "target density 50 % instead of 30 %"
    assert variant_change("msrs_search6") == "mask searched for 6 epochs instead of 3"
    assert variant_of("msrs_ls_search9") == ("msrs_ls", "mask searched for 9 epochs instead of 3")
    assert variant_of("msrs_sparse_search6")[0] == "msrs_sparse"
    assert variant_of("avsr_msrs_keep")[0] == "avsr_msrs"
    for m in ("msrs", "msrs_sparse", "msrs_ls", "rigl", "msrs_bogus", "rigl_search6", "avsr_msrs", "dense_ls_keep"):
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
    assert "other MSRS configurations' picks" not in text  # no other configuration has variants
    row = next(l for l in text.splitlines() if l.startswith("| msrs_den50_d8_lr25e4 "))
    assert "target density 50 %" in row and row.rstrip().endswith("| lower |")  # 20 % vs msrs's 60 %


def test_with_no_variant_the_section_is_absent_and_ties_keep_the_studys_msrs(tmp_path):
    runs = _runs(tmp_path, {"dense_d8_lr25e4": ([0.3, 0.31], 95.0), "msrs_d8_lr25e4": ([0.3, 0.4], 60.0)})
    assert tuning_section(runs, Study(runs, 0.7, 80.0)) == []
    runs = _runs(tmp_path / "tie", {"msrs_d8_lr25e4": ([0.3, 0.4], 60.0), "msrs_keep_d8_lr25e4": ([0.3, 0.4], 50.0)})
    assert selected(runs, "_d8_lr25e4") == "msrs_d8_lr25e4"


def test_each_msrs_configuration_picks_its_own_variant_and_avsr_picks_are_compared_in_babble(tmp_path):
    runs = _runs(tmp_path, {
        "dense_ls_d8_lr25e4": ([0.3, 0.6], 30.0),
        "msrs_d8_lr25e4": ([0.3, 0.40], 60.0),
        "msrs_search6_d8_lr25e4": ([0.3, 0.50], 45.0),
        "msrs_ls_d8_lr25e4": ([0.3, 0.55], 40.0),          # LayerScale: the base beats its variant
        "msrs_ls_search6_d8_lr25e4": ([0.3, 0.45], 10.0),  # best on test, worse on validation
        "avsr_dense_d8_lr25e4": ([0.3, 0.31], 90.0, 95.0),
        "avsr_msrs_d8_lr25e4": ([0.3, 0.35], 70.0, 80.0),
        "avsr_msrs_search6_d8_lr25e4": ([0.3, 0.50], 40.0, 50.0),
        "asr_dense_d8_lr25e4": ([0.3, 0.9], 5.0),          # audio only: compared with no pick
    })
    assert variants(runs, "_d8_lr25e4") == ["msrs_search6_d8_lr25e4"]  # not msrs_ls's variant
    assert variants(runs, "_d8_lr25e4", "msrs_ls") == ["msrs_ls_search6_d8_lr25e4"]
    assert selected(runs, "_d8_lr25e4") == "msrs_search6_d8_lr25e4"
    assert selected(runs, "_d8_lr25e4", "msrs_ls") == "msrs_ls_d8_lr25e4"
    assert selected(runs, "_d8_lr25e4", "avsr_msrs") == "avsr_msrs_search6_d8_lr25e4"
    assert selected(runs, "_d8_lr25e4", "msrs_sparse") is None
    text = "\n".join(tuning_section(runs, Study(runs, 0.7, 80.0), tmp_path / "plots", tmp_path))
    for base in ("msrs", "msrs_ls", "avsr_msrs"):  # one accuracy plot per configuration with variants
        png = tmp_path / "plots" / f"sensitivity_d8_lr25e4_{base}.png"
        assert png.stat().st_size > 0 and f"](plots/{png.name})" in text, base
    assert not (tmp_path / "plots" / "sensitivity_d8_lr25e4_msrs_sparse.png").exists()
    heads = [l for l in text.splitlines() if l.startswith("### ")]
    assert [h.split("'s sensitivity")[0] for h in heads] == ["### MSRS", "### MSRS with LayerScale",
                                                             "### AVSR MSRS"]
    msrs_part, ls_part, avsr_part = text.split("### ")[1:]
    # the VSR pick against the other methods and the other configurations' picks, never AVSR runs
    assert "`dense_ls_d8_lr25e4` lower" in msrs_part and "`msrs_ls_d8_lr25e4` lower" in msrs_part
    assert "avsr_" not in msrs_part and "and the other MSRS configurations' picks" in msrs_part
    assert "asr_dense" not in text
    assert "Validation picks `msrs_ls_d8_lr25e4`" in ls_part and "`msrs_search6_d8_lr25e4` higher" in ls_part
    # the AVSR pick against AVSR dense, clean and at -5 dB babble
    assert "Validation picks `avsr_msrs_search6_d8_lr25e4`" in avsr_part
    assert "`avsr_dense_d8_lr25e4` higher (babble -5 dB: higher)" in avsr_part
    assert "`dense_ls_d8_lr25e4`" not in avsr_part

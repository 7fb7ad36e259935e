"""The study's configs (egs/mini_lrs3/conf/study/) compare methods on matched settings."""

from pathlib import Path

import pytest
import yaml

STUDY = Path(__file__).resolve().parents[2] / "egs/mini_lrs3/conf/study"
MATCHED = ("video_frontend_conf", "encoder_conf", "decoder_conf", "model_conf", "optim_conf",
           "scheduler_conf", "batch_type", "batch_bins", "preprocessor_conf", "grad_clip")


def _load(name):
    return yaml.safe_load((STUDY / f"{name}.yaml").read_text())


def _regime(name: str) -> str:
    return "deep" if name.endswith("_deep") else "avsr" if name.startswith("avsr_") else "vsr"


def _methods(regime: str):
    return [n for n in sorted(p.stem for p in STUDY.glob("*.yaml")) if _regime(n) == regime]


REFERENCE = {"vsr": "dense", "deep": "dense_deep", "avsr": "avsr_dense"}


@pytest.mark.parametrize("regime", ["vsr", "deep", "avsr"])
def test_every_method_of_a_regime_has_the_same_model_optimiser_and_budget(regime):
    confs = {n: _load(n) for n in _methods(regime)}
    ref = confs[REFERENCE[regime]]
    for name, conf in confs.items():
        for key in MATCHED:
            got, want = conf.get(key), ref.get(key)
            if key == "model_conf" and name.endswith("_ls"):  # LayerScale on: the one change
                assert got.pop("layer_scale") is True, name
            assert got == want, (name, key)
        if name.startswith("curriculum"):
            continue
        assert conf["max_epoch"] == ref["max_epoch"], name
    if regime == "vsr":  # the curriculum's two stages together get dense's epochs
        assert confs["curriculum_short"]["max_epoch"] + confs["curriculum"]["max_epoch"] == ref["max_epoch"]


def test_the_deep_regime_differs_from_the_default_only_in_depth_dropout_and_ctc_weight():
    base, deep = _load("dense"), _load("dense_deep")
    assert deep["encoder_conf"]["num_blocks"] == 8 and base["encoder_conf"]["num_blocks"] == 2
    assert deep["model_conf"]["ctc_weight"] == 0.1 and deep["encoder_conf"]["dropout_rate"] == 0.1
    strip = {"num_blocks", "dropout_rate", "positional_dropout_rate", "attention_dropout_rate"}
    assert {k: v for k, v in deep["encoder_conf"].items() if k not in strip} == \
        {k: v for k, v in base["encoder_conf"].items() if k not in strip}


def test_layer_scale_variants_are_their_base_method_with_layer_scale_on():
    for base in ("dense", "msrs"):
        off, on = _load(base), _load(f"{base}_ls")
        assert not off["model_conf"].get("layer_scale", False) and on["model_conf"]["layer_scale"] is True
        on["model_conf"].pop("layer_scale")
        assert on == off, base


def test_sparse_methods_search_or_prune_at_the_study_density_within_the_budget():
    for name in ("msrs", "msrs_sparse", "msrs_deep", "msrs_ls", "avsr_msrs"):
        sc = _load(name)["sparsity_conf"]
        assert sc["penalty_normalize"] == "threshold_rms" and sc["target_density"] == 0.3, name
    for name in _methods("vsr") + _methods("avsr"):
        conf = _load(name)
        ends = [p.get("end") for p in conf.get("sparsity_conf", {}).get("phases", []) if p.get("end")]
        assert all(e < conf["max_epoch"] for e in ends), (name, ends)


def test_avsr_runs_get_the_vsr_runs_budget_and_the_same_sparsity():
    assert _load("avsr_dense")["max_epoch"] == _load("dense")["max_epoch"]
    assert _load("avsr_msrs")["sparsity_conf"] == _load("msrs")["sparsity_conf"]
    assert _load("avsr_dense")["sparsity"] == "dense" and _load("avsr_msrs")["modality"] == "avsr"

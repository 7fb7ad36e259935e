"""The study's configs (egs/mini_lrs3/conf/study/) compare methods on matched settings."""

import re
from pathlib import Path

import pytest
import yaml

STUDY = Path(__file__).resolve().parents[2] / "egs/mini_lrs3/conf/study"
MATCHED = ("video_frontend_conf", "encoder_conf", "decoder_conf", "model_conf", "optim_conf",
           "scheduler_conf", "batch_type", "batch_bins", "preprocessor_conf", "grad_clip")


def _load(name):
    return yaml.safe_load((STUDY / f"{name}.yaml").read_text())


FACTOR = re.compile(r"^(?P<base>[a-z]+\d*(?:_[a-z]+\d*)*?)_d(?P<depth>\d+)(?P<ctc>_ctc01)?(?P<drop>_drop)?(?:_lr(?P<lr_m>\d+)e(?P<lr_k>\d+))?(?P<short>_short)?$")


def _regime(name: str) -> str:
    if name.startswith("avsr_"):
        at = [r for r, suffix in SETTINGS.items() if name.endswith(suffix)]
        return f"avsr_{at[0]}" if at else "avsr"
    if FACTOR.match(name):
        return "factor"
    if re.search(r"_deep_e\d+$", name):
        return "deep_long"
    if name.endswith(("_deep", "_deep_short")):
        return "deep"
    return "avsr" if name.startswith("avsr_") else "vsr"


def _methods(regime: str):
    """The config names of a regime; "boundary": the factor configs at depth 4 alone (<method>_d4);
    "marginal": those at depth 8 and lr 0.0025 (<method>_d8_lr25e4)."""
    names = sorted(p.stem for p in STUDY.glob("*.yaml"))
    if regime in SETTINGS:
        return [n for n in names if _regime(n) == "factor" and re.search(rf"{SETTINGS[regime]}(_short)?$", n)]
    return [n for n in names if _regime(n) == regime]


def _sensitivity():
    """MSRS's sensitivity variants (``msrs_<variant>_d8_lr25e4``, ``msrs_ls_search6_d8_lr25e4``,
    ``avsr_msrs_search6_d8_lr25e4``, ``msrs_search6_d4``): the factor configs (of VSR or AVSR) whose
    method has no 2-block config of its own."""
    names = sorted(p.stem for p in STUDY.glob("*.yaml"))
    return [n for n in names if (f := FACTOR.match(n.removeprefix("avsr_")))
            and not (STUDY / f"{f.group('base')}.yaml").exists()]


SETTINGS = {"boundary": "_d4", "marginal": "_d8_lr25e4"}
REFERENCE = {"vsr": "dense", "deep": "dense_deep", "avsr": "avsr_dense", "deep_long": "dense_deep_e36",
             "boundary": "dense_d4", "avsr_boundary": "avsr_dense_d4", "marginal": "dense_d8_lr25e4",
             "avsr_marginal": "avsr_dense_d8_lr25e4"}


@pytest.mark.parametrize("regime", ["vsr", "deep", "avsr", "deep_long", "boundary", "avsr_boundary", "marginal",
                                    "avsr_marginal"])
def test_every_method_of_a_regime_has_the_same_model_optimiser_and_budget(regime):
    confs = {n: _load(n) for n in _methods(regime)}
    ref = confs[REFERENCE[regime]]
    for name, conf in confs.items():
        for key in MATCHED:
            got, want = conf.get(key), ref.get(key)
            if key == "model_conf" and re.search(r"(^|_)ls(_|$)", name):  # LayerScale on: the one change
                assert got.pop("layer_scale") is True, name
            assert got == want, (name, key)
        if name.startswith("curriculum"):
            continue
        assert conf["max_epoch"] == ref["max_epoch"], name
    # the curriculum's two stages together get dense's epochs
    cur = {"vsr": "curriculum", "deep": "curriculum_deep", "boundary": "curriculum_d4",
           "marginal": "curriculum_d8_lr25e4"}.get(regime)
    if cur:
        assert confs[f"{cur}_short"]["max_epoch"] + confs[cur]["max_epoch"] == ref["max_epoch"]


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


DROPOUTS = ("dropout_rate", "positional_dropout_rate", "attention_dropout_rate")


@pytest.mark.parametrize("name", [n for n in _methods("factor") if n not in _sensitivity()])
def test_each_regime_factor_config_is_dense_with_exactly_the_factors_its_name_says(name):
    """<dense|msrs|curriculum>_d<blocks>[_ctc01][_drop][_lr<m>e<k>][_short]: dense.yaml
    (msrs.yaml, curriculum[_short].yaml) with that
    encoder depth, CTC weight 0.1 when named (else 0.5), dropout 0.1 when named (else
    0), peak learning rate m x 10^-k when named (else the base's 0.005); nothing else."""
    m = FACTOR.match(name)
    conf, base = _load(name), _load(m.group("base") + (m.group("short") or ""))
    enc = conf["encoder_conf"]
    assert enc["num_blocks"] == int(m.group("depth"))
    assert conf["model_conf"]["ctc_weight"] == (0.1 if m.group("ctc") else 0.5)
    drop = 0.1 if m.group("drop") else 0.0
    assert all(enc[k] == drop for k in DROPOUTS) and conf["decoder_conf"]["dropout_rate"] == drop
    base_lr = base["optim_conf"].pop("lr")
    want = int(m.group("lr_m")) * 10.0 ** -int(m.group("lr_k")) if m.group("lr_m") else base_lr
    assert abs(conf["optim_conf"].pop("lr") - want) < 1e-12, name
    assert _without_regime(conf) == _without_regime(base), name


def _factors(conf):
    return (conf["encoder_conf"]["num_blocks"], conf["model_conf"]["ctc_weight"], conf["encoder_conf"]["dropout_rate"])


def test_the_factor_configs_remove_each_factor_of_the_deep_regime_once():
    """dense_deep has all three factors (depth, CTC weight, dropout) and dense none; for
    each factor some config is dense_deep with only that factor set back to dense's
    value, and one (dense_d8) has depth alone."""
    deep, base = _factors(_load("dense_deep")), _factors(_load("dense"))
    assert all(d != b for d, b in zip(deep, base))
    have = {_factors(_load(n)) for n in _methods("factor") if n.startswith("dense_")}
    for i in range(3):
        assert tuple(base[j] if j == i else deep[j] for j in range(3)) in have, i
    assert (deep[0], base[1], base[2]) in have


def _without_regime(conf):
    conf = dict(conf)
    for sect, keys in (("encoder_conf", {"num_blocks", *DROPOUTS}), ("decoder_conf", {"dropout_rate"}),
                       ("model_conf", {"ctc_weight"})):
        conf[sect] = {k: v for k, v in conf[sect].items() if k not in keys}
    return conf


@pytest.mark.parametrize("name", _methods("deep"))
def test_each_deep_config_is_its_2_block_config_with_depth_8_dropout_and_ctc_weight_01(name):
    """local/make_regime_confs.py output: <m>_deep = <m> + 8 blocks, dropout 0.1, CTC 0.1."""
    base_name = "curriculum_short" if name == "curriculum_deep_short" else name[: -len("_deep")]
    deep, base = _load(name), _load(base_name)
    assert _factors(deep) == (8, 0.1, 0.1) and _factors(base) == (2, 0.5, 0.0), name
    assert all(deep["encoder_conf"][k] == 0.1 for k in DROPOUTS) and deep["decoder_conf"]["dropout_rate"] == 0.1
    assert _without_regime(deep) == _without_regime(base), name


def test_the_deep_regime_has_every_method_of_the_2_block_study():
    vsr = set(_methods("vsr")) - {"curriculum_short"}
    assert {n[: -len("_deep")] for n in _methods("deep") if n.endswith("_deep")} == vsr


def test_the_boundary_regime_has_every_method_of_the_2_block_study_with_both_curriculum_stages():
    vsr = set(_methods("vsr"))
    assert {n.replace("_d4", "") for n in _methods("boundary") if n not in _sensitivity()} == vsr


def test_the_marginal_deep_regime_has_every_method_of_the_2_block_study_with_both_curriculum_stages():
    """<method>_d8_lr25e4: every remedy at the setting where dense fails in some seeds."""
    vsr = set(_methods("vsr"))
    assert {n.replace("_d8_lr25e4", "") for n in _methods("marginal") if n not in _sensitivity()} == vsr


# variant -> check(variant's sparsity_conf, base's sparsity_conf, *name groups): the variant has
# the change its name says; both lose the changed key, so the rest must be equal
VARIANT = {"keep": lambda sc, base: sc["phases"][-1].pop("pruned_init") == "keep"
           and "pruned_init" not in base["phases"][-1],
           "den(\\d+)": lambda sc, base, d: sc.pop("target_density") == int(d) / 100
           and base.pop("target_density") == 0.3,
           "search(\\d+)": lambda sc, base, n: sc["phases"][0].pop("end") == int(n)
           and base["phases"][0].pop("end") == 3 and sc["phases"][0]["name"] == "search"}


@pytest.mark.parametrize("name", _sensitivity())
def test_each_msrs_sensitivity_config_is_its_msrs_config_with_the_one_change_its_name_says(name):
    """<base>_keep_<setting>: pruned_init keep at the switch to dense; <base>_den<d>_<setting>:
    target density d %; <base>_search<n>_<setting>: a search phase of n epochs; otherwise
    <base>_<setting> (base: msrs, msrs_ls, msrs_sparse, avsr_msrs), so validation accuracy
    compares one choice."""
    m = re.match(r"^(?P<base>(?:avsr_)?msrs(?:_ls|_sparse)?)_(?P<variant>[a-z]+\d*)(?P<setting>_d\d+.*)$", name)
    assert m, name
    conf, base = _load(name), _load(m.group("base") + m.group("setting"))
    checks = [(re.fullmatch(k, m.group("variant")), f) for k, f in VARIANT.items()]
    (hit, check), = [(h, f) for h, f in checks if h]
    assert check(conf["sparsity_conf"], base["sparsity_conf"], *hit.groups()), name
    assert conf == base, name


def test_the_marginal_avsr_configs_are_the_avsr_configs_with_dense_d8_lr25e4s_change():
    """avsr_<method>_d8_lr25e4 (claim f2 in the marginal deep regime): avsr_<method> with 8 blocks, lr 0.0025."""
    for m in ("avsr_dense", "avsr_msrs"):
        conf, base = _load(f"{m}_d8_lr25e4"), _load(m)
        assert conf["encoder_conf"].pop("num_blocks") == 8 and base["encoder_conf"].pop("num_blocks") == 2
        assert conf["optim_conf"].pop("lr") == 0.0025 and base["optim_conf"].pop("lr") == 0.005
        assert conf == base, m


@pytest.mark.parametrize("name", _methods("deep_long"))
def test_each_long_budget_config_is_its_deep_config_with_more_epochs(name):
    long, deep = _load(name), _load(re.sub(r"_e\d+$", "", name))
    assert long.pop("max_epoch") == int(name.rsplit("_e", 1)[1]) > deep.pop("max_epoch")
    assert long == deep, name


def test_the_boundary_avsr_configs_are_the_avsr_configs_with_a_4_block_encoder():
    """avsr_<method>_d4 (claim f2 in the boundary regime): avsr_<method> with dense_d4's one change."""
    for m in ("avsr_dense", "avsr_msrs"):
        conf, base = _load(f"{m}_d4"), _load(m)
        assert conf["encoder_conf"].pop("num_blocks") == 4 and base["encoder_conf"].pop("num_blocks") == 2
        assert conf == base, m

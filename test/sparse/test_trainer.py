"""Every method through the real ESPnet trainer (SparseASRTask, tiny conformer)."""

import json

import pytest
import torch

from sparse_espnet_asr import train_cmd, write_corpus
from msrs.sparse.distributions import layer_densities
from msrs.sparse.report import global_density, sparsity_table
from msrs.sparse.squash import load_state_dict_file
from msrs.tasks.asr import SparseASRTask

D = 0.3
METHODS = {
    "msrs": ("msrs", dict(penalty_weight=0.1, phases=[{"name": "search", "end": 2, "density": D}, {"name": "sparse"}])),
    "msrs_dense": ("msrs", dict(penalty_weight=0.1, phases=[
        {"name": "search", "end": 2, "unit": "epoch", "freeze": {"epsilon": 0.5, "patience": 1}}, {"name": "dense"}])),
    "cs": ("cs", dict(penalty_weight=1e-3, phases=[
        {"name": "search", "end": 1}, {"name": "search", "end": 2, "density": D}, {"name": "sparse"}])),
    "static": ("static", dict(density=D, distribution="erk")),
    "snip": ("snip", dict(density=D)),
    "gmp": ("gmp", dict(density=D, phases=[
        {"name": "dense", "end": 1}, {"name": "prune", "end": 2, "interval": 2}, {"name": "sparse"}])),
    "set": ("set", dict(density=D, phases=[{"name": "evolve", "end": 2}, {"name": "sparse"}])),
    "rigl": ("rigl", dict(density=D, phases=[{"name": "evolve", "end": 2, "interval": 2}, {"name": "sparse"}])),
    "dense": ("dense", {}),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root)
    return root


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.mark.parametrize("name", list(METHODS))
def test_method_reaches_its_target_density_through_espnet(name, corpus, tmp_path):
    method, conf = METHODS[name]
    out = tmp_path / "exp"
    SparseASRTask.main(cmd=train_cmd(corpus, out, method, conf, max_epoch=3))
    recs = _lines(out / "sparsity.jsonl")
    assert [r["epoch"] for r in recs] == [1, 2, 3]
    final = recs[-1]
    state = torch.load(out / "3epoch.pth", weights_only=False)
    rows = [r for r in sparsity_table(state) if r.mode != "plain"]
    assert abs(global_density(rows) - final["global_density"]) < 1e-6
    if name == "dense":
        assert final["global_density"] == 1.0 and final["phase"] == "dense"
    elif name == "msrs_dense":
        events = json.loads((out / "sparsity_events.json").read_text())
        assert events["frozen"] and events["freeze_epoch"] == 1  # stable after one window
        assert final["phase"] == "dense" and final["global_density"] == 1.0
        assert 0.0 < events["density_at_freeze"] < 1.0
    else:
        assert final["phase"] == "sparse"
        assert abs(final["global_density"] - D) <= 0.01, final["global_density"]
        for r in rows:  # the stored weights are exactly zero where masked
            assert r.zeros >= round((1 - r.density) * r.numel)
        if name in ("static", "rigl", "set"):
            dist = {"static": "erk", "rigl": "erk", "set": "er"}[name]
            expected = layer_densities([r.shape for r in rows], D, dist)
            for r, e in zip(rows, expected):
                assert abs(r.density - e) <= 0.5 / r.numel + 1e-9, r.name
    # the averaged model (ESPnet n-best averaging) keeps the final masks' density
    ave = load_state_dict_file(out / "valid.loss.ave.pth")
    assert int(ave["sparsity.checkpoint_count"]) == 1
    ave_rows = [r for r in sparsity_table(ave) if r.mode != "plain"]
    if name not in ("msrs_dense", "dense"):
        assert abs(global_density(ave_rows) - final["global_density"]) <= 0.01
    # the reporter got the per-epoch scalars
    ckpt = torch.load(out / "checkpoint.pth", weights_only=False)
    train_stats = ckpt["reporter"]["stats"][3]["train"]
    assert abs(train_stats["sparsity_density"] - final["global_density"]) < 1e-6
    assert any(k.startswith("density/encoder.encoders.") for k in train_stats)
    assert "sparsity_penalty" in train_stats


def _compare(a, b):
    sa = torch.load(a, weights_only=False)
    sb = torch.load(b, weights_only=False)
    for k in sa["model"]:
        assert torch.equal(sa["model"][k], sb["model"][k]), k
    for oa, ob in zip(sa["optimizers"], sb["optimizers"]):
        for pid in oa["state"]:
            for k, v in oa["state"][pid].items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(ob["state"][pid][k])), (pid, k)


@pytest.mark.parametrize("name, conf", [
    ("msrs", dict(penalty_weight=0.1, phases=[{"name": "search", "end": 3, "temperature": {"per": "step"}}, {"name": "sparse"}])),
    ("rigl", dict(density=D, phases=[{"name": "evolve", "end": 3, "interval": 3}, {"name": "sparse"}])),
])
def test_resume_in_the_middle_of_a_phase_is_bitwise_identical(name, conf, corpus, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    SparseASRTask.main(cmd=train_cmd(corpus, straight, name, conf, max_epoch=4, extra=["--grad_flow_interval", "3"]))
    SparseASRTask.main(cmd=train_cmd(corpus, split, name, conf, max_epoch=2, extra=["--grad_flow_interval", "3"]))
    # an interrupted epoch 3 left lines behind: the resumed run must drop them
    with (split / "sparsity.jsonl").open("a") as f:
        f.write(json.dumps({"epoch": 3, "bogus": True}) + "\n")
    with (split / "grad_flow.jsonl").open("a") as f:
        f.write(json.dumps({"step": 11, "bogus": True}) + "\n")
    SparseASRTask.main(cmd=train_cmd(corpus, split, name, conf, max_epoch=4, extra=["--grad_flow_interval", "3"]))
    _compare(straight / "checkpoint.pth", split / "checkpoint.pth")
    assert _lines(straight / "sparsity.jsonl") == _lines(split / "sparsity.jsonl")
    assert _lines(straight / "grad_flow.jsonl") == _lines(split / "grad_flow.jsonl")
    ev_a = json.loads((straight / "sparsity_events.json").read_text())
    ev_b = json.loads((split / "sparsity_events.json").read_text())
    assert ev_a == ev_b


def test_outputs_images_grad_flow_and_events(corpus, tmp_path):
    out = tmp_path / "exp"
    conf = dict(penalty_weight=0.1, phases=[{"name": "search", "end": 2}, {"name": "dense"}])
    cmd = train_cmd(corpus, out, "msrs", conf, max_epoch=3, extra=["--grad_flow_interval", "2"])
    cmd[cmd.index("--use_matplotlib") + 1] = "true"
    SparseASRTask.main(cmd=cmd)
    for key in ("sparsity_density", "sparsity_flip_rate", "sparsity_temperature", "sparsity_penalty"):
        assert (out / "images" / f"{key}.png").exists(), key
    assert (out / "images" / "density" / "encoder.encoders.0.png").exists()
    gf = _lines(out / "grad_flow.jsonl")
    assert [g["step"] for g in gf if g["tag"] == "interval"] == [2, 4, 6, 8, 10, 12]
    assert [g["phase"] for g in gf if g["tag"] == "after_transition"] == ["dense"]
    assert all(set(g) == {"step", "epoch", "phase", "tag", "global_norm", "egf", "layers"} for g in gf)
    events = json.loads((out / "sparsity_events.json").read_text())
    assert events["method"] == "msrs" and events["freeze_epoch"] == 2 and events["freeze_step"] == 8
    kinds = [(e["type"], e.get("to")) for e in events["events"]]
    assert kinds == [("freeze", None), ("phase", "dense")]
    recs = _lines(out / "sparsity.jsonl")
    assert set(recs[0]) == {"epoch", "step", "phase", "phase_index", "temperature", "lambda", "global_density",
                            "flip_rate", "penalty", "layers", "threshold_density", "pull_coef", "logit_quantiles"}
    assert "threshold_density" not in recs[2]  # search-only fields
    q = recs[0]["logit_quantiles"]
    assert len(q) == 5 and q == sorted(q) and 0.0 <= recs[0]["threshold_density"] <= 1.0
    assert recs[0]["temperature"] == 1.0 and recs[1]["temperature"] == 200.0 and recs[2]["temperature"] is None
    # weights and logits were clipped apart: both norms are logged, the logits' only while searching
    stats = torch.load(out / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    assert "grad_norm" in stats[1]["train"] and "sparsity_logit_grad_norm" in stats[1]["train"]
    assert "sparsity_logit_grad_norm" not in stats[3]["train"]


def test_grad_flow_without_sparsity(corpus, tmp_path):
    out = tmp_path / "exp"
    SparseASRTask.main(cmd=train_cmd(corpus, out, None, None, max_epoch=2, extra=["--grad_flow_interval", "3"]))
    gf = _lines(out / "grad_flow.jsonl")
    assert [g["step"] for g in gf] == [3, 6] and gf[0]["phase"] == "none"
    assert "encoder.encoders.0.feed_forward.w_1.weight" in gf[0]["layers"]
    assert not (out / "sparsity.jsonl").exists()

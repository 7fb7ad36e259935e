import json

import torch

from msrs.sparse import MSRSSparsity, StaticSparsity
from msrs.sparse.grad_flow import GradFlowProbe
from sparse_toy import ToyModel, attached, batch, make_optimizer, train


def _probe(tmp_path, model, step=1):
    probe = GradFlowProbe(tmp_path, interval=1)
    x, y = batch(0)
    probe.offer({"x": x, "y": y})
    return probe, probe.measure(model, step=step, epoch=1, phase="p")


def test_probe_without_sparsity_records_task_gradient_norms(tmp_path):
    torch.manual_seed(0)
    model = ToyModel(dropout=0.5)
    probe, rec = _probe(tmp_path, model)
    assert set(rec["layers"]) == {"enc.0.weight", "enc.3.weight", "conv.weight"}
    x, y = batch(0)
    torch.manual_seed(20240617)
    loss = model(x, y)[0]
    grads = torch.autograd.grad(loss, [model.enc[0].weight, model.enc[3].weight, model.conv.weight])
    assert abs(rec["layers"]["enc.0.weight"] - float(grads[0].norm())) < 1e-6
    assert abs(rec["global_norm"] - float(torch.cat([g.reshape(-1) for g in grads]).norm())) < 1e-6
    line = json.loads((tmp_path / "grad_flow.jsonl").read_text().splitlines()[0])
    assert line["step"] == 1 and line["tag"] == "interval" and "egf" in line
    assert (tmp_path / "grad_flow_probe.pt").exists()


def test_probe_excludes_penalty_masks_gradients_and_does_not_perturb_training(tmp_path):
    model, sp = attached(StaticSparsity, density=0.3)
    rng_before = torch.get_rng_state()
    bn_before = model.bn.running_mean.clone()
    probe, rec = _probe(tmp_path, model)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.equal(model.bn.running_mean, bn_before)
    assert all(p.grad is None for p in model.parameters())
    n_active = {t.name: int(t.parametrization.mask.sum()) for t in sp.targets}
    egf = sum(rec["layers"][k] / n_active[k] for k in n_active) / len(n_active)
    assert abs(rec["egf"] - egf) < 1e-9

    msrs_model, msp = attached(MSRSSparsity, penalty_weight=100.0)
    _, r1 = _probe(tmp_path / "a", msrs_model)
    msp.penalty_weight = 0.0
    _, r2 = _probe(tmp_path / "b", msrs_model)
    assert r1["global_norm"] == r2["global_norm"]  # the penalty never enters the probe


def test_resumed_probe_reuses_batch_and_truncates_records(tmp_path):
    model = ToyModel()
    probe, _ = _probe(tmp_path, model, step=1)
    probe.measure(model, step=2, epoch=1, phase="p")
    probe.measure(model, step=3, epoch=2, phase="p")
    again = GradFlowProbe(tmp_path, interval=1)
    assert again.batch is not None and torch.equal(again.batch["x"], probe.batch["x"])
    again.offer({"x": torch.zeros(1, 8), "y": torch.zeros(1, dtype=torch.long)})  # ignored
    assert torch.equal(again.batch["x"], probe.batch["x"])
    again.truncate_after(2)
    steps = [json.loads(l)["step"] for l in (tmp_path / "grad_flow.jsonl").read_text().splitlines()]
    assert steps == [1, 2]


def _saturated_search(continuation):
    model, sp = attached(MSRSSparsity, penalty_weight=0.0, phases=[
        {"name": "search", "end": 2, "unit": "step",
         "temperature": {"start": 1e4, "end": 1e4, "schedule": "constant"}, "freeze": None}, continuation])
    assert sp.mask_scale == 2.0
    with torch.no_grad():
        for p in sp.logit_parameters:
            p.copy_(torch.where(torch.rand_like(p) < 0.7, 1.0, -1.0))  # saturated: factor 2 or 0
    model.bn.momentum = 0.0
    opt = make_optimizer(model, sp, lr=0.0)
    train(model, opt, sp, 1)
    return model, sp, opt


def test_probe_reads_the_same_before_and_after_the_freeze(tmp_path):
    """Same effective weights and batch: the same gradient norms in the search and after the freeze
    (the stored weight's gradient would read s * sigmoid(l phi) = 2.000x high during the search)."""
    model, sp, opt = _saturated_search({"name": "sparse"})
    _, before = _probe(tmp_path / "a", model)
    train(model, opt, sp, 1, start=1)  # the freeze; effective weights unchanged (continuous)
    assert sp.phase == "sparse"
    _, after = _probe(tmp_path / "b", model)
    for name, v in before["layers"].items():
        assert abs(after["layers"][name] / v - 1.0) < 1e-5, (name, after["layers"][name] / v)
    assert abs(after["egf"] / before["egf"] - 1.0) < 1e-5


def test_probe_of_a_dense_continuation_equals_a_plain_model_with_the_same_weights(tmp_path):
    model, sp, opt = _saturated_search({"name": "dense", "pruned_init": "keep"})
    train(model, opt, sp, 1, start=1)
    assert sp.phase == "dense"
    _, after = _probe(tmp_path / "a", model)
    plain = ToyModel()
    state = {k: v for k, v in model.state_dict().items() if ".parametrizations." not in k and not k.startswith("sparsity.")}
    for t in sp.targets:
        state[t.name] = t.module.weight.detach().clone()
    plain.load_state_dict(state)
    _, ref = _probe(tmp_path / "b", plain)
    for name, v in ref["layers"].items():
        assert abs(after["layers"][name] / v - 1.0) < 1e-5, name

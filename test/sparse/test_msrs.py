import math

import pytest
import torch

from msrs.sparse import MSRSSparsity
from msrs.sparse.masks import DENSE, FIXED, SOFT
from sparse_toy import attached, batch, make_optimizer, train


def test_defaults_are_documented_reconstruction():
    sp = MSRSSparsity()
    assert [p.kind for p in sp.phase_list] == ["search", "dense"]
    s = sp.phase_list[0]
    assert s.end == 10 and s.options["temperature"]["start"] == 1.0 and s.options["temperature"]["end"] == 200.0
    assert s.options["freeze"] == {"epsilon": 0.001, "patience": 2, "window": 1, "window_unit": "epoch"}
    assert sp.mask_scale == 2.0 and sp.penalty_form == "logits" and sp.penalty_normalize


def test_soft_mask_starts_at_one_and_model_function_is_unchanged():
    torch.manual_seed(0)
    from sparse_toy import ToyModel

    ref = ToyModel()
    model, sp = attached(MSRSSparsity)
    model.load_state_dict(ref.state_dict())
    x, y = batch(0)
    with sp.penalty_disabled():
        assert torch.allclose(model(x, y)[0], ref(x, y)[0], atol=1e-6)
    assert all(t.parametrization.current_mode == SOFT for t in sp.targets)


@pytest.mark.parametrize("form, normalize", [("logits", True), ("logits", False), ("mask", True), ("mask", False)])
def test_penalty_forms(form, normalize):
    model, sp = attached(MSRSSparsity, penalty=form, penalty_weight=0.5, penalty_normalize=normalize, phi_init=0.3)
    logits = torch.cat([p.reshape(-1) for p in sp.logit_parameters])
    r = logits.sum() if form == "logits" else (torch.sigmoid(logits * sp.soft_temperature) * sp.mask_scale).sum()
    if normalize:
        r = r / logits.numel()
    assert torch.allclose(sp.penalty(), 0.5 * r)
    assert sp.penalty().dtype == torch.float32


def test_temperature_anneals_per_epoch_and_per_step():
    model, sp = attached(MSRSSparsity, phases=[{"name": "search", "end": 5, "freeze": None}, {"name": "dense"}])
    opt = make_optimizer(model, sp)
    temps = []
    for e in range(1, 6):
        sp.start_epoch(e)
        temps.append(sp.soft_temperature)
        train(model, opt, sp, 1, start=e)
        sp.end_epoch(e)
    assert temps[0] == 1.0 and math.isclose(temps[-1], 200.0)
    assert all(math.isclose(temps[i + 1] / temps[i], 200 ** 0.25) for i in range(4))
    assert sp.phase == "dense"
    model, sp = attached(MSRSSparsity, phases=[
        {"name": "search", "end": 10, "unit": "step", "temperature": {"per": "step", "end": 1024.0}}, {"name": "dense"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 5)
    assert math.isclose(sp.soft_temperature, 1024 ** 0.5)


def test_freeze_when_stable_records_epoch_and_density():
    # epsilon 1.0: every window counts as stable -> freeze after `patience` windows
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 20, "freeze": {"epsilon": 1.0, "patience": 2}}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 12, steps_per_epoch=3)
    rec = sp.freeze_record()
    assert rec["frozen"] and rec["freeze_epoch"] == 2 and rec["freeze_step"] == 6
    assert 0.0 < rec["density_at_freeze"] < 1.0
    assert sp.phase == "sparse"
    ev = [e for e in sp.pop_events() if e["type"] == "freeze"]
    assert ev and ev[0]["reason"] == "stable" and set(ev[0]["layers"]) == {t.name for t in sp.targets}


def test_flip_rate_counts_changed_hard_decisions_and_max_epoch_freezes():
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 3, "freeze": {"epsilon": 0.0, "patience": 1}}, {"name": "dense"}])
    opt = make_optimizer(model, sp)
    sp.start_epoch(1)
    before = [t.parametrization.mask.clone() for t in sp.targets]
    train(model, opt, sp, 3)
    hard = sp.hard_masks()
    expected = sum(int((h != b).sum()) for h, b in zip(hard, before)) / sum(b.numel() for b in before)
    rec = sp.end_epoch(1)
    assert math.isclose(rec["flip_rate"], expected)
    for e in (2, 3):
        sp.start_epoch(e)
        train(model, opt, sp, 3, start=3 * e)
        sp.end_epoch(e)
    assert sp.phase == "dense" and sp.freeze_record()["freeze_epoch"] == 3


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_target_density_at_freeze(scope):
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step", "density": 0.3, "density_scope": scope}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 8)
    assert abs(sp.global_density() - 0.3) < 0.01
    if scope == "layer":
        assert all(abs(d - 0.3) < 0.01 for d in sp.layer_densities().values())


def _freeze_model(continuation, pruned_init="zero"):
    phases = [{"name": "search", "end": 5, "unit": "step", "temperature": {"per": "step"}}]
    phases.append({"name": "dense", "pruned_init": pruned_init} if continuation == "dense" else {"name": "sparse"})
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=phases)
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 4)
    pre = {t.name: t.original.detach().clone() for t in sp.targets}
    train(model, opt, sp, 1, start=4)  # step 5 ends the search phase
    # the frozen mask is the hard decision of the logits, which stop training at the freeze
    hard = [(p > 0).to(torch.uint8) for p in sp.logit_parameters]
    return model, sp, opt, pre, hard


def test_dense_continuation_restarts_pruned_weights_from_zero_and_trains_them():
    model, sp, opt, pre, hard = _freeze_model("dense")
    assert sp.phase == "dense"
    for t, h in zip(sp.targets, hard):
        assert t.parametrization.current_mode == DENSE
        assert torch.equal(t.parametrization.mask, h)
        w = t.original
        assert torch.equal(w[h == 0], torch.zeros_like(w[h == 0]))
        assert torch.equal(opt.state[w]["exp_avg"][h == 0], torch.zeros_like(w[h == 0]))
    logits_before = [p.detach().clone() for p in sp.logit_parameters]
    train(model, opt, sp, 3, start=5)
    for t, h in zip(sp.targets, hard):
        assert bool((t.original[h == 0] != 0).any())  # pruned weights train again
    assert all(p.grad is None and not p.requires_grad for p in sp.logit_parameters)
    assert all(torch.equal(a, b) for a, b in zip(logits_before, sp.logit_parameters))


def test_dense_continuation_keep_option_and_scale_folding():
    model, sp, opt, pre, hard = _freeze_model("dense", pruned_init="keep")
    for t, h in zip(sp.targets, hard):
        w = t.original
        # kept weights absorbed the soft-mask scale (2x); pruned keep their stored value
        assert not torch.equal(w[h == 0], torch.zeros_like(w[h == 0]))


def test_fold_scale_keeps_the_function_continuous_at_freeze():
    model, sp = attached(MSRSSparsity, phi_init=0.5, penalty_weight=0.0, phases=[
        {"name": "search", "end": 6, "unit": "step", "temperature": {"start": 1.0, "end": 1e4, "per": "step"}},
        {"name": "sparse"}])
    assert math.isclose(sp.mask_scale, 1 / (1 / (1 + math.exp(-0.5))))
    with torch.no_grad():
        for p in sp.logit_parameters:
            p[::2] = -0.5  # half the rows pruned
    model.bn.momentum = 0.0  # keep BatchNorm statistics fixed across the extra step
    opt = make_optimizer(model, sp, lr=0.0)  # lr 0: weights do not move, only the phase changes
    train(model, opt, sp, 5)
    assert sp.soft_temperature > 1e3  # the soft mask is saturated: 0 or the scale
    x, y = batch(99)
    model.eval()
    with sp.penalty_disabled():
        before = model(x, y)[0]
        train(model, opt, sp, 1, start=5)
        model.eval()
        after = model(x, y)[0]
    assert sp.phase == "sparse"
    assert torch.allclose(before, after, atol=1e-5)


def test_sparse_continuation_fixed_mask_and_no_logit_gradients():
    model, sp, opt, pre, hard = _freeze_model("sparse")
    assert all(t.parametrization.current_mode == FIXED for t in sp.targets)
    train(model, opt, sp, 4, start=5)
    for t, h in zip(sp.targets, hard):
        assert torch.equal(t.module.weight[h == 0], torch.zeros_like(t.module.weight[h == 0]))
    assert all(p.grad is None for p in sp.logit_parameters)


def test_channel_granularity():
    model, sp = attached(MSRSSparsity, granularity="channel", penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step", "density": 0.5}, {"name": "sparse"}])
    assert sp.targets[0].parametrization.logits.shape == (24, 1)
    assert sp.targets[2].parametrization.logits.shape == (16, 1, 1)
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 6)
    assert abs(sp.global_density() - 0.5) < 0.05
    for t in sp.targets:
        rows = t.module.weight.reshape(t.shape[0], -1)
        alive = (rows != 0).any(1)
        assert torch.equal(alive.float().mean(), t.parametrization.mask.float().mean())


def test_bad_configuration_is_reported():
    with pytest.raises(ValueError, match="penalty"):
        MSRSSparsity(penalty="l2")
    with pytest.raises(ValueError, match="granularity"):
        MSRSSparsity(granularity="block")
    with pytest.raises(ValueError, match="search phase"):
        MSRSSparsity(phases=[{"name": "dense"}])
    with pytest.raises(ValueError, match="span"):
        MSRSSparsity(phases=[{"name": "search"}, {"name": "dense"}])

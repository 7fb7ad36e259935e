import math

import pytest
import torch

from msrs.sparse import MSRSSparsity
import msrs.sparse.phase_kinds.search as search_kind
from msrs.sparse.masks import DENSE, FIXED, SOFT, is_released
from sparse_toy import attached, batch, make_optimizer, train


def test_defaults_are_documented_reconstruction():
    sp = MSRSSparsity()
    assert [p.kind for p in sp.phase_list] == ["search", "dense"]
    s = sp.phase_list[0]
    assert s.end == 10 and s.options["temperature"]["start"] == 1.0 and s.options["temperature"]["end"] == 200.0
    assert s.options["freeze"] == {"epsilon": 0.001, "patience": 2, "window": 1, "window_unit": "epoch", "min_change": 0.01}
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
    # (the mirrored state is the float32 the checkpointed buffer holds)
    assert temps[0] == 1.0 and math.isclose(temps[-1], 200.0, rel_tol=1e-6)
    assert all(math.isclose(temps[i + 1] / temps[i], 200 ** 0.25, rel_tol=1e-6) for i in range(4))
    assert sp.phase == "dense"
    model, sp = attached(MSRSSparsity, phases=[
        {"name": "search", "end": 10, "unit": "step", "temperature": {"per": "step", "end": 1024.0}}, {"name": "dense"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 5)
    assert math.isclose(sp.soft_temperature, 1024 ** 0.5)


def test_freeze_when_stable_records_epoch_and_density():
    # the default epsilon (0.1 % flips per window) at a temperature that saturates the mask:
    # once the logits have crossed the threshold and settled, two stable epochs freeze it
    model, sp = attached(MSRSSparsity, penalty_weight=0.5, phases=[
        {"name": "search", "end": 40, "temperature": {"start": 1.0, "end": 1e3, "per": "step", "span": 30},
         "unit": "epoch", "freeze": {"epsilon": 0.001, "patience": 2}}, {"name": "sparse"}])
    opt = make_optimizer(model, sp, lr=0.05)
    for e in range(1, 41):
        train(model, opt, sp, 3, start=3 * (e - 1), steps_per_epoch=3)
        if sp.phase != "search":
            break
    rec = sp.freeze_record()
    assert rec["frozen"] and rec["freeze_epoch"] < 40, rec
    assert 0.0 < rec["density_at_freeze"] < 0.99
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
    assert math.isclose(rec["flip_rate"], expected, rel_tol=1e-6)  # float32 buffer
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
    seen = []
    original = search_kind.hard_masks
    search_kind.hard_masks = lambda *a: seen.append(original(*a)) or seen[-1]
    try:
        train(model, opt, sp, 1, start=4)  # step 5 ends the search phase
    finally:
        search_kind.hard_masks = original
    hard = seen[-1]  # the hard decision the freeze installed
    return model, sp, opt, pre, hard


def test_dense_continuation_restarts_pruned_weights_from_zero_and_trains_them():
    model, sp, opt, pre, hard = _freeze_model("dense")
    assert sp.phase == "dense"
    for t, h in zip(sp.targets, hard):
        par = t.parametrization
        assert par.current_mode == DENSE
        # no masked phase follows: logits (and their Adam state) and masks are released
        assert is_released(par.logits) and is_released(par.mask) and par.logits not in opt.state
        w = t.original
        assert torch.equal(w[h == 0], torch.zeros_like(w[h == 0]))
        assert torch.equal(opt.state[w]["exp_avg"][h == 0], torch.zeros_like(w[h == 0]))
    logits_before = [p.detach().clone() for p in sp.logit_parameters]
    train(model, opt, sp, 3, start=5)
    for t, h in zip(sp.targets, hard):
        assert bool((t.original[h == 0] != 0).any())  # pruned weights train again
    assert all(p.grad is None and not p.requires_grad for p in sp.logit_parameters)
    assert all(torch.equal(a, b) for a, b in zip(logits_before, sp.logit_parameters))


def test_sparse_continuation_fixed_mask_and_no_logit_gradients():
    model, sp, opt, pre, hard = _freeze_model("sparse")
    assert all(t.parametrization.current_mode == FIXED for t in sp.targets)
    assert all(torch.equal(t.parametrization.mask, h) for t, h in zip(sp.targets, hard))
    assert all(is_released(p) for p in sp.logit_parameters)  # no search follows: logits freed
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

"""Weights and logits are clipped apart; the fp16 GradScaler path sees unscaled gradients."""

import copy

import torch

from msrs.sparse import MSRSSparsity
from msrs.sparse.clipping import split_clipping
from sparse_toy import attached, batch, make_optimizer, train


def _search_model(temperature=200.0):
    model, sp = attached(MSRSSparsity, penalty_weight=0.1, phases=[
        {"name": "search", "end": 50, "unit": "step", "freeze": None,
         "temperature": {"start": temperature, "end": temperature, "schedule": "constant"}}, {"name": "dense"}])
    with torch.no_grad():
        for p in sp.logit_parameters:
            p.uniform_(-0.02, 0.02)  # near the threshold, where dL/dphi ~ l/4 is large
    return model, sp


def _norm(ps):
    return float(torch.cat([p.grad.reshape(-1) for p in ps if p.grad is not None]).norm())


def test_logits_do_not_decide_how_much_the_weights_are_clipped():
    model, sp = _search_model()
    model(*batch(0))[0].backward()
    logits = sp.logit_parameters
    weights = [p for p in model.parameters() if all(p is not q for q in logits)]
    w_norm, l_norm = _norm(weights), _norm(logits)
    assert l_norm ** 2 > 0.9 * (l_norm ** 2 + w_norm ** 2)  # at l = 200 the logits carry the norm
    w_before = [p.grad.clone() for p in weights]
    max_norm = 2 * w_norm  # the weights alone are below the clip
    with split_clipping(sp) as norms:
        reported = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)  # ESPnet's call
    assert abs(float(reported) - w_norm) < 1e-5 * w_norm  # grad_norm in the log describes the weights
    assert all(torch.equal(a, p.grad) for a, p in zip(w_before, weights))  # and they are not clipped
    assert abs(_norm(logits) - max_norm) < 1e-4 * max_norm  # the logits are clipped on their own
    assert norms == [l_norm] or abs(norms[0] - l_norm) < 1e-4 * l_norm
    assert torch.nn.utils.clip_grad_norm_ is not None and "split" not in torch.nn.utils.clip_grad_norm_.__qualname__


def test_own_logit_clip_and_non_finite_logits_skip_the_step():
    model, sp = _search_model()
    sp.mask_grad_clip = 1e-3
    model(*batch(0))[0].backward()
    with split_clipping(sp):
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e9)
    assert abs(_norm(sp.logit_parameters) - 1e-3) < 1e-7
    sp.logit_parameters[0].grad[0, 0] = float("inf")
    with split_clipping(sp):
        reported = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    assert not torch.isfinite(reported)  # ESPnet then skips the step, as without the split


def test_fp16_grad_scaler_path_applies_the_pull_to_unscaled_gradients():
    """ESPnet's AMP order: scaled backward, unscale_, clip, scaler.step -> our pre-step hook."""
    model, sp = _search_model(temperature=1.0)
    ref_model, ref_sp = copy.deepcopy(model), None
    ref_sp = ref_model.sparsity
    opt = make_optimizer(model, sp)
    ref_opt = make_optimizer(ref_model, ref_sp)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    for i in range(3):
        x, y = batch(i)
        scaler.scale(model(x, y)[0]).backward()
        scaler.unscale_(opt)
        with split_clipping(sp):
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        ref_model(x, y)[0].backward()
        with split_clipping(ref_sp):
            torch.nn.utils.clip_grad_norm_(ref_model.parameters(), max_norm=5.0)
        ref_opt.step()
        ref_opt.zero_grad()
    assert sp.steps == ref_sp.steps == 3
    for a, b in zip(sp.logit_parameters, ref_sp.logit_parameters):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert sp._s["pull_coef"] == ref_sp._s["pull_coef"] or abs(sp._s["pull_coef"] / ref_sp._s["pull_coef"] - 1) < 1e-3


def test_fp16_grad_scaler_skipped_step_does_not_count_or_update_masks():
    model, sp = attached(MSRSSparsity, penalty_weight=0.1, phases=[
        {"name": "search", "end": 2, "unit": "step"}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 2)
    assert sp.phase == "sparse"
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    masks = [t.parametrization.mask.clone() for t in sp.targets]
    w = [t.original.detach().clone() for t in sp.targets]
    scaler.scale(model(*batch(3))[0]).backward()
    sp.targets[0].original.grad[0, 0] = float("nan")  # an fp16 overflow
    scaler.step(opt)  # skipped: no optimizer step, no hook
    scaler.update()
    assert sp.steps == 2 and all(torch.equal(a, t.original) for a, t in zip(w, sp.targets))
    opt.zero_grad()
    scaler.scale(model(*batch(4))[0]).backward()
    scaler.step(opt)
    scaler.update()
    assert sp.steps == 3
    for t, m in zip(sp.targets, masks):
        assert torch.equal(t.parametrization.mask, m) and not t.original[m == 0].any()

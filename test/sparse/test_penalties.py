"""The penalty's pull on the logits: its normalisation, its gradient and when it is inert."""

import logging

import pytest
import torch

from msrs.sparse import ContinuousSparsification, MSRSSparsity
from sparse_toy import ToyModel, attached, batch, make_optimizer, train


class Wide(ToyModel):
    """The toy model with every hidden width multiplied (same task, more logits)."""

    def __init__(self, k: int):
        super().__init__(d=24 * k)
        self.conv = torch.nn.Conv1d(24 * k, 16 * k, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(16 * k)
        self.output_layer = torch.nn.Linear(16 * k, 4)


def _wide(k, **conf):
    torch.manual_seed(0)
    model = Wide(k)
    sp = MSRSSparsity(**conf)
    sp.attach(model)
    return model, sp


@pytest.mark.parametrize("k", [1, 8])
def test_grad_rms_pull_is_lambda_times_the_rms_task_gradient(k):
    model, sp = _wide(k, penalty_weight=0.3, penalty_normalize="grad_rms")
    opt = make_optimizer(model, sp)
    model(*batch(0))[0].backward()
    task = [p.grad.clone() for p in sp.logit_parameters]
    rms = float(torch.cat([g.reshape(-1) for g in task]).pow(2).mean().sqrt())
    sp._pre_step(opt, (), {})
    for p, g in zip(sp.logit_parameters, task):
        torch.testing.assert_close(p.grad - g, torch.full_like(g, 0.3 * rms))
    assert sp._s["pull_coef"] == pytest.approx(rms, rel=1e-5)


def _reference(phi: float, scale_weights: bool = False, normalize: str = "threshold_rms", t: float = 8.0):
    """The pull's coefficient after one backward of the toy model with every logit at ``phi``.

    ``scale_weights``: divide the stored weights by the soft factor at ``phi`` and multiply by
    the one at 0, so that the effective weights, and so ``dL/dw_eff``, equal those at 0."""
    model, sp = attached(MSRSSparsity, penalty_weight=0.3, penalty_normalize=normalize, normalize_mask=False,
                         phases=[{"name": "search", "end": 100, "unit": "step", "freeze": None,
                                  "temperature": {"start": t, "end": t, "schedule": "constant"}},
                                 {"name": "dense"}])
    opt = make_optimizer(model, sp)
    with torch.no_grad():
        for tgt in sp.targets:
            tgt.parametrization.logits.fill_(phi)
            if scale_weights:
                tgt.original.mul_(torch.sigmoid(torch.tensor(0.0)) / torch.sigmoid(torch.tensor(t * phi)))
    model(*batch(0))[0].backward()
    sp._pre_step(opt, (), {})
    return sp._s["pull_coef"]


def test_threshold_rms_equals_grad_rms_when_the_logits_sit_on_the_threshold():
    """At phi = 0 the gradient 'at the threshold' is the actual gradient: the two references agree."""
    assert _reference(0.0) == pytest.approx(_reference(0.0, normalize="grad_rms"), rel=1e-4)


def test_threshold_rms_does_not_vanish_when_the_soft_mask_saturates():
    """Logits at 2.5 with temperature 8 (sigmoid'(20) ~ 2e-9): the actual task gradient of the
    logits, and so the grad_rms reference, all but vanish, while threshold_rms is the gradient
    the same connections would meet at the threshold.  With the effective weights held equal,
    dL/dw_eff is that of the phi = 0 model, whose stored weights are sigmoid(20) / sigmoid(0) times
    smaller, so the reference is exactly that factor smaller than the phi = 0 one."""
    at_zero = _reference(0.0)
    saturated = _reference(2.5, scale_weights=True)
    factor = float(torch.sigmoid(torch.tensor(0.0)) / torch.sigmoid(torch.tensor(20.0)))
    assert saturated == pytest.approx(at_zero * factor, rel=1e-4)
    assert _reference(2.5, scale_weights=True, normalize="grad_rms") < 1e-6 * saturated


@pytest.mark.parametrize("normalize,moves", [("threshold_rms", True), ("grad_rms", False)])
def test_saturated_logits_reach_the_threshold_only_with_threshold_rms(normalize, moves):
    """The mini-recipe failure: phi_init 0.5 at temperature 40 (l * phi = 20) saturates the soft
    mask.  With grad_rms the pull shrinks with the task gradient below Adam's eps and the logits
    stay put; with threshold_rms (lambda 0.5) they walk down at the optimizer's rate and the
    search prunes within 100 steps of lr 1e-2."""
    model, sp = attached(MSRSSparsity, penalty_weight=0.5, penalty_normalize=normalize, phi_init=0.5,
                         phases=[{"name": "search", "end": 1000, "unit": "step", "freeze": None,
                                  "temperature": {"start": 40.0, "end": 40.0, "schedule": "constant"}},
                                 {"name": "dense"}])
    opt = make_optimizer(model, sp, lr=1e-2)
    train(model, opt, sp, 100)
    largest_move = max(float((0.5 - p.detach()).max()) for p in sp.logit_parameters)
    density = sp.global_density(masks=[(p > 0).to(torch.uint8) for p in sp.logit_parameters])
    if moves:
        assert density < 0.9, density
    else:
        assert density == 1.0 and largest_move < 0.05, (density, largest_move)


def _density_after(k, steps, **conf):
    model, sp = _wide(k, phi_init=0.5, phases=[
        {"name": "search", "end": 1000, "unit": "step", "freeze": None,
         "temperature": {"start": 4.0, "end": 4.0, "schedule": "constant"}}, {"name": "dense"}], **conf)
    opt = make_optimizer(model, sp, lr=2e-2)
    train(model, opt, sp, steps)
    return sp.global_density()


def test_same_settings_give_similar_density_at_two_model_sizes():
    """grad_rms: lambda is a pull in units of the task gradient, so one setting prunes a 64x
    larger model (~25 k vs ~1.6 M logits) to a similar density; 'count' (lambda / N) does not.
    Measured here: grad_rms 0.58 vs 0.52; count 0.44 vs 0.73."""
    small, large = _density_after(1, 50, penalty_weight=0.1), _density_after(8, 50, penalty_weight=0.1)
    assert 0.3 < small < 0.8 and abs(small - large) < 0.1, (small, large)
    c_small = _density_after(1, 50, penalty_weight=1.0, penalty_normalize="count")
    c_large = _density_after(8, 50, penalty_weight=1.0, penalty_normalize="count")
    assert c_large - c_small > 0.2, (c_small, c_large)


def test_an_inert_pull_is_warned_about_at_registration(caplog):
    model, sp = _wide(8, penalty_weight=1e-3, penalty_normalize="count")  # 1e-3 / ~1.6 M logits < eps
    with caplog.at_level(logging.WARNING):
        make_optimizer(model, sp)
    assert any("below the optimizer's eps" in r.getMessage() and "threshold_rms" in r.getMessage()
               for r in caplog.records)
    model, sp = _wide(1, penalty_weight=0.1)  # threshold_rms: no static warning
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        make_optimizer(model, sp)
    assert not any("below the optimizer's eps" in r.getMessage() for r in caplog.records)


def test_inert_pull_gives_a_gradient_sign_mask_and_a_real_pull_does_not():
    """With the pull below Adam's eps, the hard mask after one step from phi_init 0 is exactly
    [dL/dphi < 0] whatever lambda is: a gradient-sign mask, not MSRS."""
    def first_step_mask(**conf):
        model, sp = attached(MSRSSparsity, phi_init=0.0, phases=[
            {"name": "search", "end": 100, "unit": "step", "freeze": None}, {"name": "dense"}], **conf)
        opt = make_optimizer(model, sp, lr=1e-3)
        model(*batch(0))[0].backward()
        sign = [(p.grad < 0).to(torch.uint8) for p in sp.logit_parameters]
        opt.step()
        return sign, sp.hard_masks()

    sign, inert = first_step_mask(penalty_weight=1e-6, penalty_normalize="count")
    assert all(torch.equal(a, b) for a, b in zip(sign, inert))
    _, real = first_step_mask(penalty_weight=0.5)
    assert sum(int((a != b).sum()) for a, b in zip(sign, real)) > 0
    assert sum(int(m.sum()) for m in real) < sum(int(m.sum()) for m in sign)  # the pull prunes more


def test_mask_penalty_gradient_is_the_derivative_of_the_soft_mask_sum():
    model, sp = attached(ContinuousSparsification, penalty_weight=0.7, phases=[
        {"name": "search", "end": 5, "unit": "step", "freeze": None,
         "temperature": {"start": 3.0, "end": 3.0, "schedule": "constant"}}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    with torch.no_grad():
        for p in sp.logit_parameters:
            p.uniform_(-1, 1)
    model(*batch(0))[0].backward()
    task = [p.grad.clone() for p in sp.logit_parameters]
    sp._pre_step(opt, (), {})
    ref = [p.detach().clone().requires_grad_() for p in sp.logit_parameters]
    total = sum((torch.sigmoid(3.0 * r) * sp.mask_scale).sum() for r in ref) * 0.7
    grads = torch.autograd.grad(total, ref)
    for p, g, r in zip(sp.logit_parameters, task, grads):
        torch.testing.assert_close(p.grad - g, r)
    torch.testing.assert_close(sp.penalty(), total.detach())


def test_old_boolean_normalisation_is_accepted():
    assert MSRSSparsity(penalty_normalize=True).penalty_normalize == "count"
    assert MSRSSparsity(penalty_normalize=False).penalty_normalize == "none"
    with pytest.raises(ValueError, match="penalty_normalize must be one of"):
        MSRSSparsity(penalty_normalize="layer")

"""The freeze of a learned-mask search: when it fires, and that it is continuous."""

import pytest
import torch

from msrs.sparse import MSRSSparsity
from msrs.sparse.phase_kinds import KINDS
from sparse_toy import attached, batch, make_optimizer, train


def test_no_freeze_before_the_search_has_moved():
    """phi_init 0.5 with a learning rate that cannot move a logit 0.5 in a few epochs: no flips
    because nothing moved yet is not stability -- the search runs to its end (epoch 8)."""
    model, sp = attached(MSRSSparsity, phi_init=0.5, penalty_weight=0.1, phases=[
        {"name": "search", "end": 8, "temperature": {"start": 10.0, "end": 200.0},
         "freeze": {"epsilon": 0.001, "patience": 2}}, {"name": "dense"}])
    opt = make_optimizer(model, sp, lr=1e-3)
    moved_max = 0.0
    for e in range(1, 9):
        train(model, opt, sp, 4, start=4 * (e - 1), steps_per_epoch=4)
        if sp.phase == "search":
            moved_max = max(float((0.5 - p).max()) for p in sp.logit_parameters)
            assert sp._s["flip_rate"] == 0.0  # no decision changed ...
    assert moved_max < 0.5  # ... because no logit reached the threshold
    rec = sp.freeze_record()
    assert rec["freeze_epoch"] == 8 and rec["density_at_freeze"] == 1.0  # frozen only at the phase end
    assert [e["reason"] for e in sp.pop_events() if e["type"] == "freeze"] == ["end epoch 8"]


def test_stable_windows_count_once_the_search_moved():
    model, sp = attached(MSRSSparsity, phi_init=0.5, penalty_weight=0.1, phases=[
        {"name": "search", "end": 8, "freeze": {"epsilon": 0.001, "patience": 1, "min_change": 0.01}},
        {"name": "dense"}])
    search = KINDS["search"]
    phase = sp.current_phase
    assert not search.window_check(sp, phase) and not sp._s["search_moved"]  # nothing moved: not stable
    with torch.no_grad():
        p = sp.logit_parameters[0]
        p.view(-1)[: p.numel() // 2] = -1.0  # a share of the decisions crossed the threshold
    assert not search.window_check(sp, phase)  # this window flipped many decisions
    assert sp._s["search_moved"] == 1
    assert search.window_check(sp, phase)  # a quiet window after the move is stable


@pytest.mark.parametrize("temperature", [1.0, 3.0, 10.0, 200.0])
@pytest.mark.parametrize("continuation, pruned_init", [("sparse", None), ("dense", "zero"), ("dense", "keep")])
def test_freeze_is_continuous_for_every_kept_connection(temperature, continuation, pruned_init):
    """The effective weight of every kept connection is the same just before and just after the
    freeze, at any temperature, with phi_init != 0 (so s * sigmoid(l * phi) is not 1)."""
    nxt = {"name": continuation, **({"pruned_init": pruned_init} if pruned_init else {})}
    model, sp = attached(MSRSSparsity, phi_init=0.5, penalty_weight=0.0, phases=[
        {"name": "search", "end": 3, "unit": "step",
         "temperature": {"start": 1.0, "end": temperature, "per": "step", "span": 1}, "freeze": None}, nxt])
    opt = make_optimizer(model, sp, lr=0.0)  # nothing moves: only the phase changes
    with torch.no_grad():
        for p in sp.logit_parameters:
            p.uniform_(-1.0, 1.0)  # kept logits anywhere in (0, 1]: factors far from 1 at low l
    train(model, opt, sp, 2)
    assert sp.phase == "search" and sp.soft_temperature == temperature
    before = [t.module.weight.detach().clone() for t in sp.targets]
    hard = [(p > 0) for p in sp.logit_parameters]
    ratio = [b[h] / t.original.detach()[h] for b, h, t in zip(before, hard, sp.targets)]
    assert max(float((r - 1).abs().max()) for r in ratio) > 0.05  # the soft factor is not 1 here
    train(model, opt, sp, 1, start=2)  # step 3 ends the search
    assert sp.phase == continuation
    for t, b, h in zip(sp.targets, before, hard):
        after = t.module.weight.detach()
        torch.testing.assert_close(after[h], b[h], rtol=1e-6, atol=1e-7)
        if continuation == "sparse" or pruned_init == "zero":
            assert not after[~h].any()
        else:  # keep: pruned weights keep their effective value too
            torch.testing.assert_close(after[~h], b[~h], rtol=1e-6, atol=1e-7)


def test_freeze_rescales_adam_moments_of_kept_weights_and_resets_pruned():
    model, sp = attached(MSRSSparsity, phi_init=0.5, penalty_weight=0.0, phases=[
        {"name": "search", "end": 3, "unit": "step", "temperature": {"start": 3.0, "end": 3.0,
                                                                     "schedule": "constant"}, "freeze": None},
        {"name": "sparse"}])
    opt = make_optimizer(model, sp, lr=1e-2)
    train(model, opt, sp, 2)
    t = sp.targets[0]
    hard = sp.hard_masks()[0].bool()
    m1 = opt.state[t.original]["exp_avg"].clone()
    x, y = batch(2)
    model(x, y)[0].backward()
    # capture the moments as the step leaves them, just before the post-step hook freezes
    seen = {}

    def capture(o, a, k):  # the moments and the soft factor of the updated logits
        seen.update(m=o.state[t.original]["exp_avg"].clone(), f=t.parametrization.soft_factors()[0].clone())

    h = opt.register_step_post_hook(capture)
    opt._optimizer_step_post_hooks.move_to_end(h.id, last=False)
    opt.step()
    h.remove()
    m_after = opt.state[t.original]["exp_avg"]
    torch.testing.assert_close(m_after[hard], (seen["m"] / seen["f"])[hard])
    assert not m_after[~hard].any()
    assert not torch.equal(m1, seen["m"])


def test_fold_scale_false_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="fold_scale: false is no longer supported.*continuous"):
        MSRSSparsity(fold_scale=False)

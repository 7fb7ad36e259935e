import math

import torch

from msrs.sparse import ContinuousSparsification
from sparse_toy import attached, make_optimizer, train


def test_published_defaults():
    sp = ContinuousSparsification()
    assert [p.kind for p in sp.phase_list] == ["search", "search", "search", "sparse"]
    assert sp.penalty_form == "mask" and sp.penalty_weight == 1e-8 and sp.penalty_normalize == "none"
    assert all(p.options["round_reset"] and p.options["freeze"] is None for p in sp.phase_list[:3])
    assert sp.phase_list[0].options["temperature"]["end"] == 200.0
    assert sp.mask_scale == 2.0  # 1 / sigmoid(s0 = 0)


def test_rounds_reset_temperature_and_clamp_logits_then_ticket():
    model, sp = attached(ContinuousSparsification, penalty_weight=1e-3, phases=[
        {"name": "search", "end": 2}, {"name": "search", "end": 4}, {"name": "sparse"}])
    opt = make_optimizer(model, sp, lr=0.05)
    temps = []
    for e in range(1, 3):
        sp.start_epoch(e)
        temps.append(sp.soft_temperature)
        train(model, opt, sp, 3, start=3 * e)
        sp.end_epoch(e)
    assert temps == [1.0, 200.0]
    # entering round 2: s <- min(s, s0), beta back to 1
    assert sp.phase == "search" and sp.current_phase.index == 1
    assert all(float(p.detach().max()) <= 0.0 for p in sp.logit_parameters)
    sp.start_epoch(3)
    assert sp.soft_temperature == 1.0
    for e in range(3, 5):
        if e > 3:
            sp.start_epoch(e)
        train(model, opt, sp, 3, start=3 * e)
        last_logits = [p.detach().clone() for p in sp.logit_parameters]
        sp.end_epoch(e)
    assert sp.phase == "sparse"
    for t, s in zip(sp.targets, last_logits):
        assert torch.equal(t.parametrization.mask, (s > 0).to(torch.uint8))  # ticket 1[s > 0]
    assert math.isclose(sp.freeze_record()["density_at_freeze"], sp.global_density(), rel_tol=1e-6)


def test_mask_penalty_is_unnormalised_sum_of_scaled_soft_masks():
    model, sp = attached(ContinuousSparsification, penalty_weight=1.0)
    n = sum(p.numel() for p in sp.logit_parameters)
    assert math.isclose(float(sp.penalty().detach()), n * 1.0, rel_tol=1e-6)  # 2 * sigmoid(0) = 1 per weight

import pytest
import torch

from msrs.sparse import GMPSparsity
from msrs.sparse.schedules import cubic_density
from sparse_toy import attached, make_optimizer, train


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_cubic_schedule_monotone_masks_and_final_density(scope):
    model, sp = attached(GMPSparsity, density=0.1, phases=[
        {"name": "dense", "end": 2, "unit": "step"},
        {"name": "prune", "end": 12, "unit": "step", "interval": 2, "scope": scope},
        {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 2)
    assert sp.phase == "prune" and sp.global_density() == 1.0
    prev = [t.parametrization.mask.clone() for t in sp.targets]
    for k in range(1, 6):
        train(model, opt, sp, 2, start=2 * k)
        masks = [t.parametrization.mask.clone() for t in sp.targets]
        assert all(bool((m <= p).all()) for m, p in zip(masks, prev))  # pruned stay pruned
        prev = masks
        if k < 5:
            expected = cubic_density(1.0, 0.1, (2 * k) / 10)
            assert abs(sp.global_density() - expected) < 0.01
    assert sp.phase == "sparse"
    assert abs(sp.global_density() - 0.1) < 0.01
    if scope == "layer":
        assert all(abs(d - 0.1) < 0.01 for d in sp.layer_densities().values())
    # magnitude criterion: surviving weights are the largest of their layer
    t = sp.targets[1]
    w, m = t.original.abs(), t.parametrization.mask.bool()
    train(model, opt, sp, 1, start=12)
    assert torch.equal(t.original[~m], torch.zeros_like(t.original[~m]))
    del w


def test_initial_density_below_one_prunes_at_phase_start():
    model, sp = attached(GMPSparsity, density=0.1, phases=[
        {"name": "prune", "end": 10, "unit": "step", "interval": 5, "initial_density": 0.5}, {"name": "sparse"}])
    assert abs(sp.global_density() - 0.5) < 0.01

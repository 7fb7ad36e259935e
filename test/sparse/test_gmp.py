import pytest
import torch

from msrs.sparse import GMPSparsity
from msrs.sparse.distributions import layer_densities
from msrs.sparse.phase_kinds import KINDS
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
    # pruned weights stay exactly zero while the sparse phase trains
    t = sp.targets[1]
    m = t.parametrization.mask.bool()
    train(model, opt, sp, 1, start=12)
    assert torch.equal(t.original[~m], torch.zeros_like(t.original[~m]))


def test_initial_density_below_one_prunes_at_phase_start():
    model, sp = attached(GMPSparsity, density=0.1, phases=[
        {"name": "prune", "end": 10, "unit": "step", "interval": 5, "initial_density": 0.5}, {"name": "sparse"}])
    assert abs(sp.global_density() - 0.5) < 0.01


def test_prune_keeps_the_largest_magnitudes_among_active_weights():
    model2, sp2 = attached(GMPSparsity, density=0.25, phases=[
        {"name": "prune", "end": 4, "unit": "step", "interval": 1}, {"name": "sparse"}])
    opt2 = make_optimizer(model2, sp2)
    train(model2, opt2, sp2, 2)
    mags = [t.original.detach().abs().clone() for t in sp2.targets]
    act = [t.parametrization.mask.clone().bool() for t in sp2.targets]
    KINDS["prune"].update(sp2, sp2.current_phase, 0.75)
    for t, w, a in zip(sp2.targets, mags, act):
        m = t.parametrization.mask.bool()
        dropped = a & ~m
        assert int(dropped.sum()) > 0
        assert float(w[m].min()) >= float(w[dropped].max())


def test_layer_scope_prune_uses_erk_power():
    shapes_conf = dict(density=0.2, distribution="erk", phases=[
        {"name": "prune", "end": 2, "unit": "step", "interval": 1, "scope": "layer"}, {"name": "sparse"}])
    out = {}
    for power in (1.0, 0.0):
        model, sp = attached(GMPSparsity, erk_power=power, **shapes_conf)
        opt = make_optimizer(model, sp)
        train(model, opt, sp, 3)
        out[power] = sp.layer_densities()
        expected = layer_densities([t.shape for t in sp.targets], 0.2, "erk", power)
        assert list(out[power].values()) == pytest.approx(expected, abs=1.0 / 192)
    assert all(abs(d - 0.2) < 0.01 for d in out[0.0].values())  # power 0: uniform
    assert max(out[1.0].values()) - min(out[1.0].values()) > 0.1

import pytest
import torch

from msrs.sparse import SNIPSparsity, StaticSparsity
from msrs.sparse.distributions import layer_densities
from msrs.sparse.masks import DENSE, FIXED
from sparse_toy import attached, batch, make_optimizer, train


@pytest.mark.parametrize("dist", ["uniform", "er", "erk"])
def test_static_density_globally_and_per_layer(dist):
    model, sp = attached(StaticSparsity, density=0.2, distribution=dist)
    expected = layer_densities([t.shape for t in sp.targets], 0.2, dist)
    assert abs(sp.global_density() - 0.2) < 0.01
    for d, e, t in zip(sp.layer_densities().values(), expected, sp.targets):
        assert abs(d - e) <= 0.5 / t.numel + 1e-9  # exact count round(e * n)
    opt = make_optimizer(model, sp)
    masks = [t.parametrization.mask.clone() for t in sp.targets]
    train(model, opt, sp, 5)
    assert all(torch.equal(m, t.parametrization.mask) for m, t in zip(masks, sp.targets))


def test_static_mask_depends_on_seed_only():
    _, a = attached(StaticSparsity, density=0.3, seed=1)
    _, b = attached(StaticSparsity, density=0.3, seed=1)
    _, c = attached(StaticSparsity, density=0.3, seed=2)
    ma = [t.parametrization.mask for t in a.targets]
    assert all(torch.equal(x, t.parametrization.mask) for x, t in zip(ma, b.targets))
    assert not all(torch.equal(x, t.parametrization.mask) for x, t in zip(ma, c.targets))


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_snip_uses_first_step_connection_sensitivity(scope):
    model, sp = attached(SNIPSparsity, density=0.25, scope=scope)
    assert all(t.parametrization.current_mode == DENSE for t in sp.targets)  # deferred
    opt = make_optimizer(model, sp, lr=0.0)
    x, y = batch(0)
    loss, _, _ = model(x, y)
    loss.backward()
    scores = [(t.original.grad * t.original).abs().detach().clone() for t in sp.targets]
    opt.step()
    opt.zero_grad()
    assert all(t.parametrization.current_mode == FIXED for t in sp.targets)
    masks = [t.parametrization.mask.bool() for t in sp.targets]
    if scope == "global":
        kept = torch.cat([s[m] for s, m in zip(scores, masks)])
        dropped = torch.cat([s[~m] for s, m in zip(scores, masks)])
        assert kept.min() >= dropped.max()
        assert abs(sp.global_density() - 0.25) < 0.01
    else:
        for s, m in zip(scores, masks):
            assert s[m].min() >= s[~m].max()
        assert all(abs(d - 0.25) < 0.01 for d in sp.layer_densities().values())
    # the first update is already sparse
    for t, m in zip(sp.targets, masks):
        assert torch.equal(t.original[~m], torch.zeros_like(t.original[~m]))

import math

import pytest
import torch

from msrs.sparse import RigLSparsity, SETSparsity
from sparse_toy import attached, batch, make_optimizer, train


def _run(cls, steps=12, interval=3, **kw):
    model, sp = attached(cls, density=0.3, phases=[
        {"name": "evolve", "end": 30, "unit": "step", "interval": interval, "interval_unit": "step", **kw},
        {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    return model, sp, opt


@pytest.mark.parametrize("cls", [SETSparsity, RigLSparsity])
def test_counts_constant_topology_changes_and_new_connections_start_at_zero(cls):
    model, sp, opt = _run(cls, decay="constant")
    counts = [int(t.parametrization.mask.sum()) for t in sp.targets]
    assert abs(sp.global_density() - 0.3) < 0.01
    train(model, opt, sp, 2)
    before = [t.parametrization.mask.clone() for t in sp.targets]
    train(model, opt, sp, 1, start=2)  # step 3: topology update
    after = [t.parametrization.mask.clone() for t in sp.targets]
    assert [int(m.sum()) for m in after] == counts
    changed = sum(int((a != b).sum()) for a, b in zip(after, before))
    assert changed > 0
    for t, a, b in zip(sp.targets, after, before):
        grown = (a == 1) & (b == 0)
        w = t.original
        assert torch.equal(w[grown], torch.zeros_like(w[grown]))
        assert torch.equal(opt.state[w]["exp_avg"][grown], torch.zeros_like(w[grown]))
        # dropped: the k smallest |w| among the previously active ones, and zeroed
        dropped = (a == 0) & (b == 1)
        assert torch.equal(w[dropped], torch.zeros_like(w[dropped]))


def test_rigl_grows_where_the_dense_gradient_is_largest():
    model, sp, opt = _run(RigLSparsity, decay="constant")
    train(model, opt, sp, 2)
    before = [t.parametrization.mask.clone() for t in sp.targets]
    x, y = batch(2)
    loss, _, _ = model(x, y)
    loss.backward()
    dense = [t.parametrization.dense_grad.clone() for t in sp.targets]
    checked = False
    opt.step()
    opt.zero_grad()
    for t, b, g in zip(sp.targets, before, dense):
        a = t.parametrization.mask
        grown = (a == 1) & (b == 0)
        if int(grown.sum()) == 0:
            continue
        candidates = (b == 0) & ~grown
        if int(candidates.sum()) == 0:
            continue
        checked = True
        assert g.abs()[grown].min() >= g.abs()[candidates].max()
    assert checked
    assert all(t.parametrization.dense_grad is None for t in sp.targets)


def test_rigl_capture_only_on_update_steps_and_cosine_decay():
    model, sp, opt = _run(RigLSparsity)
    caps = []
    for i in range(6):
        caps.append(sp.targets[0].parametrization._capture_grad)
        train(model, opt, sp, 1, start=i)
    assert caps == [False, False, True, False, False, True]
    assert sp.current_phase.options["decay"] == "cosine"


def test_set_regrowth_is_seeded_and_reproducible():
    runs = []
    for _ in range(2):
        model, sp, opt = _run(SETSparsity)
        train(model, opt, sp, 9)
        runs.append([t.parametrization.mask.clone() for t in sp.targets])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_set_epoch_interval_and_defaults():
    sp = SETSparsity()
    o = sp.phase_list[0].options
    assert (o["interval"], o["interval_unit"], o["decay"], o["drop_fraction"]) == (1, "epoch", "constant", 0.3)
    assert sp.distribution == "er"
    r = RigLSparsity()
    o = r.phase_list[0].options
    assert (o["interval"], o["interval_unit"], o["decay"], r.distribution) == (100, "step", "cosine", "erk")
    with pytest.raises(ValueError, match="interval_unit must be 'step'"):
        RigLSparsity(phases=[{"name": "evolve", "end": 3, "interval_unit": "epoch"}, {"name": "sparse"}])
    model, sp = attached(SETSparsity, density=0.3, phases=[{"name": "evolve", "end": 4}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    before = [t.parametrization.mask.clone() for t in sp.targets]
    train(model, opt, sp, 3, steps_per_epoch=3)
    assert any(not torch.equal(b, t.parametrization.mask) for b, t in zip(before, sp.targets))
    assert math.isclose(sp.global_density(), 0.3, abs_tol=0.01)

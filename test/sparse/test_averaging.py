import pytest
import copy

import torch
from espnet2.main_funcs.average_nbest_models import average_nbest_models
from espnet2.train.reporter import Reporter

from msrs.sparse import MSRSSparsity, RigLSparsity
from msrs.sparse.averaging import fix_averaged_checkpoints, fix_averaged_state_dict
from sparse_toy import attached, make_optimizer, train


def _espnet_average(tmp_path, states):
    reporter = Reporter()
    for e, sd in enumerate(states, 1):
        torch.save(sd, tmp_path / f"{e}epoch.pth")
        reporter.set_epoch(e)
        with reporter.observe("valid") as sub:
            sub.register({"loss": 1.0 / e})
            sub.next()
    average_nbest_models(tmp_path, reporter, [("valid", "loss", "min")], nbest=len(states))
    return tmp_path / f"valid.loss.ave_{len(states)}best.pth"


def test_espnet_average_of_frozen_masks_is_repaired_to_the_frozen_density(tmp_path):
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step"}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 5)
    frozen = [t.parametrization.mask.clone() for t in sp.targets]
    states = []
    for i in range(3):
        train(model, opt, sp, 2, start=5 + 2 * i)
        states.append(copy.deepcopy(model.state_dict()))
    path = _espnet_average(tmp_path, states)
    raw = torch.load(path, weights_only=False)
    assert raw["sparsity.checkpoint_count"].item() == 3
    assert raw["enc.0.parametrizations.weight.0.mask"].is_floating_point()
    assert raw["enc.0.parametrizations.weight.0.mode"].item() == 6  # 3 x FIXED, summed

    # loading the unrepaired file into a model repairs it in the load hooks
    m2, sp2 = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step"}, {"name": "sparse"}])
    m2.load_state_dict(raw)
    assert sp2.phase == "sparse" and sp2.steps == 9
    assert all(torch.equal(f, t.parametrization.mask) for f, t in zip(frozen, sp2.targets))
    assert sp2.global_density() == pytest.approx(sp.freeze_record()["density_at_freeze"], abs=1e-7)  # float32 buffer

    # the trainer repairs the files on disk (symlinks are left alone)
    fixed = fix_averaged_checkpoints(tmp_path)
    assert path in fixed and all(not p.is_symlink() for p in fixed)
    disk = torch.load(path, weights_only=False)
    assert disk["sparsity.checkpoint_count"].item() == 1 and disk["sparsity.phase_index"].item() == 1
    assert disk["enc.0.parametrizations.weight.0.mask"].dtype == torch.uint8
    assert disk["enc.0.parametrizations.weight.0.mode"].item() == 2
    assert torch.equal(disk["enc.0.parametrizations.weight.0.mask"], frozen[0])
    assert fix_averaged_checkpoints(tmp_path) == []  # idempotent


def test_averaging_masks_that_differ_keeps_layer_counts(tmp_path):
    model, sp = attached(RigLSparsity, density=0.3, phases=[
        {"name": "evolve", "end": 100, "unit": "step", "interval": 2, "decay": "constant"}])
    opt = make_optimizer(model, sp)
    states = []
    for i in range(3):
        train(model, opt, sp, 4, start=4 * i)
        states.append(copy.deepcopy(model.state_dict()))
    counts = [int(t.parametrization.mask.sum()) for t in sp.targets]
    avg = torch.load(_espnet_average(tmp_path, states), weights_only=False)
    assert fix_averaged_state_dict(avg)
    for t, c in zip(sp.targets, counts):
        assert int(avg[f"{t.module_name}.parametrizations.weight.0.mask"].sum()) == c

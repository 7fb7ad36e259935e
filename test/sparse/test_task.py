import argparse

import pytest
import torch

from msrs.sparse import MSRSSparsity, RigLSparsity
from msrs.sparse.task import SparsityTaskMixin
from sparse_toy import ToyModel


class _Base:
    num_optimizers = 1

    @classmethod
    def build_optimizers(cls, args, model):
        return [torch.optim.AdamW(model.parameters(), **args.optim_conf)]


class _Task(SparsityTaskMixin, _Base):
    pass


def _args(**kw):
    return argparse.Namespace(optim_conf=dict(lr=0.01, weight_decay=0.1), sharded_ddp=False, **kw)


def test_attach_sparsity_and_logit_param_group():
    model = ToyModel()
    sp = _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"mask_lr_scale": 0.5}), model)
    assert isinstance(sp, MSRSSparsity) and model.sparsity is sp
    (opt,) = _Task.build_optimizers(_args(), model)
    assert len(opt.param_groups) == 2
    main, logits = opt.param_groups
    ids = {id(p) for p in sp.logit_parameters}
    assert not any(id(p) in ids for p in main["params"])
    assert [id(p) for p in logits["params"]] == [id(p) for p in sp.logit_parameters]
    assert logits["lr"] == 0.01 and logits["lr_scale"] == 0.5
    assert logits["weight_decay"] == 0.0 and main["weight_decay"] == 0.1
    assert getattr(opt, "_msrs_primary", False)


@pytest.mark.parametrize("scheduler", ["warmuplr", "cosineannealingwarmuprestarts"])
def test_mask_lr_scale_holds_under_espnet_schedulers(scheduler):
    """Adam's first step moves a parameter by its group's lr: the logits move by
    lr * mask_lr_scale, the weights by lr, whatever lr the scheduler wrote."""
    from msrs.utils.espnet_import import import_espnet

    CosineAnnealingWarmupRestarts = import_espnet(
        "espnet2.schedulers.cosine_anneal_warmup_restart"
    ).CosineAnnealingWarmupRestarts
    WarmupLR = import_espnet("espnet2.schedulers.warmup_lr").WarmupLR

    model = ToyModel()
    sp = _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"mask_lr_scale": 4.0}), model)
    args = argparse.Namespace(optim_conf=dict(lr=0.01, weight_decay=0.0), sharded_ddp=False)
    (opt,) = _Task.build_optimizers(args, model)
    if scheduler == "warmuplr":
        sched = WarmupLR(opt, warmup_steps=2)
    else:
        sched = CosineAnnealingWarmupRestarts(opt, first_cycle_steps=100, warmup_steps=2, max_lr=0.01, min_lr=0.0)
    sched.step()
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[0] == pytest.approx(lrs[1]) and lrs[0] > 0
    weight = sp.targets[0].original
    logit = sp.logit_parameters[0]
    w0, l0 = weight.detach().clone(), logit.detach().clone()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    assert torch.allclose((w0 - weight.detach()).abs(), torch.full_like(w0, lrs[0]), rtol=1e-3)
    assert torch.allclose((l0 - logit.detach()).abs(), torch.full_like(l0, 4.0 * lrs[0]), rtol=1e-3)
    assert [g["lr"] for g in opt.param_groups] == lrs  # restored after the step


def test_no_sparsity_and_baselines_keep_espnet_optimizer():
    model = ToyModel()
    assert _Task.attach_sparsity(_args(sparsity=None), model) is None
    assert len(_Task.build_optimizers(_args(), model)[0].param_groups) == 1
    model = ToyModel()
    assert isinstance(_Task.attach_sparsity(_args(sparsity="rigl", sparsity_conf={}), model), RigLSparsity)
    assert len(_Task.build_optimizers(_args(), model)[0].param_groups) == 1


def test_wrong_method_or_option_is_a_clear_error():
    with pytest.raises(ValueError, match="--sparsity must be one of"):
        _Task.attach_sparsity(_args(sparsity="lottery"), ToyModel())
    with pytest.raises(ValueError, match=r"sparsity_conf for 'msrs': unknown option\(s\) \['lambda'\]; valid options: \[.*'penalty_weight'"):
        _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"lambda": 1.0}), ToyModel())
    with pytest.raises(ValueError, match=r"phases\[0\]"):
        _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"phases": [{"name": "search", "tmp": 1}]}), ToyModel())

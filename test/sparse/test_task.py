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


@pytest.mark.parametrize("method,zeroes_pruned", [("msrs", False), ("gmp", False), ("rigl", True)])
def test_same_seed_gives_dense_and_sparse_runs_the_same_initial_weights(method, zeroes_pruned):
    """The study pairs runs by seed (msrs/report/study_paired.py): ESPnet seeds torch,
    then builds the model, and the sparsity method is attached last, so with one seed
    the weights a sparse run masks are the dense run's initial weights (RigL and SET
    zero the weights their random initial mask prunes; the kept ones are dense's)."""
    from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

    from msrs.tasks.avsr import AVSRTask
    from msrs.tasks.avsr_testing import parse_config, tiny_config

    def weights(**conf):
        set_all_random_seed(3)
        model = AVSRTask.build_model(parse_config(tiny_config("vsr", **conf)))
        # a parametrized weight is stored as <module>.parametrizations.<name>.original
        return {k.replace("parametrizations.", "").replace(".original", ""): v
                for k, v in model.state_dict().items()}

    dense = weights()
    sparse = weights(sparsity=method, sparsity_conf={})
    masked = [k for k in sparse if k not in dense]
    assert dense.keys() <= sparse.keys()
    for k in dense:
        kept = sparse[k] != 0 if zeroes_pruned else torch.ones_like(dense[k], dtype=torch.bool)
        assert torch.equal(sparse[k][kept], dense[k][kept]), k
    if zeroes_pruned:  # it did prune: some stored weights are now zero
        assert any(bool((sparse[k] != dense[k]).any()) for k in dense)
    assert len(dense) > 20
    set_all_random_seed(4)
    other = AVSRTask.build_model(parse_config(tiny_config("vsr"))).state_dict()
    assert not all(torch.equal(dense[k], other[k]) for k in dense)  # the seed does set them
    assert masked or method != "msrs"  # MSRS adds its mask logits

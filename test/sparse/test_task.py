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
    assert logits["lr"] == 0.005 and logits["weight_decay"] == 0.0 and main["weight_decay"] == 0.1
    assert getattr(opt, "_msrs_primary", False)


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
    with pytest.raises(ValueError, match="--sparsity_conf for 'msrs'"):
        _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"lambda": 1.0}), ToyModel())
    with pytest.raises(ValueError, match=r"phases\[0\]"):
        _Task.attach_sparsity(_args(sparsity="msrs", sparsity_conf={"phases": [{"name": "search", "tmp": 1}]}), ToyModel())

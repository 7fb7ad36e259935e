"""Checkpoints written before the sparse-core redesign (msrs at commit d1b0977) still load.

``data/checkpoints_d1b0977.pth`` was written by that commit's code on the toy model:
an MSRS model in the middle of its search, one after the freeze in its sparse
continuation, and a RigL model in its evolve phase, each with the effective
weights the old code computed.  Today's code must load them strictly, compute
the same function and keep training.
"""

from pathlib import Path

import pytest
import torch

from msrs.sparse import MSRSSparsity, RigLSparsity
from sparse_toy import attached, make_optimizer, train

DATA = Path(__file__).parent / "data" / "checkpoints_d1b0977.pth"
CLASSES = {"msrs": MSRSSparsity, "rigl": RigLSparsity}


@pytest.mark.parametrize("name", ["msrs_search", "msrs_sparse", "rigl_evolve"])
def test_checkpoint_of_the_old_core_loads_and_trains_on(name):
    old = torch.load(DATA, weights_only=False)[name]
    conf = dict(old["conf"])
    if old["method"] == "msrs":
        conf["penalty_normalize"] = True  # what the old default meant ("count")
    model, sp = attached(CLASSES[old["method"]], **conf)
    assert not any(k.endswith(("search_moved", "released", "penalty_lambda", "pull_coef")) for k in old["state"])
    model.load_state_dict(old["state"])  # strict
    assert sp.phase == old["phase"] and sp.steps == old["steps"]
    assert sp.global_density() == pytest.approx(old["density"], abs=1e-9)
    model.eval()
    for t in sp.targets:
        torch.testing.assert_close(t.module.weight, old["effective"][t.name], rtol=1e-6, atol=1e-7)
    model.train()
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 3, start=old["steps"])
    assert sp.steps == old["steps"] + 3
    if sp.phase != "search":
        assert all(not t.original[t.parametrization.mask == 0].any() for t in sp.targets)

import torch

from msrs.sparse import DenseSparsity
from sparse_toy import ToyModel, attached, batch, make_optimizer, train


def test_dense_baseline_is_identity_and_logs_density_one():
    torch.manual_seed(0)
    ref = ToyModel()
    model, sp = attached(DenseSparsity)
    model.load_state_dict(ref.state_dict())
    x, y = batch(0)
    loss, stats, _ = model(x, y)
    assert torch.allclose(loss, ref(x, y)[0])
    assert sp.penalty() is None and float(stats["sparsity_penalty"]) == 0.0
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 3, steps_per_epoch=3)
    assert sp.global_density() == 1.0 and sp.phase == "dense"
    assert sp.logit_parameters == []

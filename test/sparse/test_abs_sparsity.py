"""Core machinery shared by every method: attach, hooks, loading, resume."""

import copy

import pytest
import torch

from msrs.sparse import (
    ContinuousSparsification,
    DenseSparsity,
    GMPSparsity,
    MSRSSparsity,
    RigLSparsity,
    SETSparsity,
    SNIPSparsity,
    StaticSparsity,
)
from msrs.sparse.masks import FIXED, SOFT
from sparse_toy import ToyModel, attached, batch, make_optimizer, train

SEARCH_SPARSE = dict(penalty_weight=0.05, phases=[
    {"name": "search", "end": 6, "unit": "step", "temperature": {"per": "step"}}, {"name": "sparse"}])
METHODS = {
    "msrs_search_sparse": (MSRSSparsity, SEARCH_SPARSE),
    "msrs_search_dense": (MSRSSparsity, dict(penalty_weight=0.05, phases=[
        {"name": "search", "end": 6, "unit": "step"}, {"name": "dense", "pruned_init": "zero"}])),
    "cs": (ContinuousSparsification, dict(penalty_weight=1e-3, phases=[
        {"name": "search", "end": 4, "unit": "step", "temperature": {"per": "step"}},
        {"name": "search", "end": 8, "unit": "step", "temperature": {"per": "step"}}, {"name": "sparse"}])),
    "dense": (DenseSparsity, {}),
    "static": (StaticSparsity, dict(density=0.3, distribution="erk")),
    "snip": (SNIPSparsity, dict(density=0.3)),
    "gmp": (GMPSparsity, dict(density=0.3, phases=[
        {"name": "dense", "end": 2, "unit": "step"},
        {"name": "prune", "end": 10, "unit": "step", "interval": 2}, {"name": "sparse"}])),
    "set": (SETSparsity, dict(density=0.3, phases=[
        {"name": "evolve", "end": 12, "unit": "step", "interval": 3, "interval_unit": "step"}, {"name": "sparse"}])),
    "rigl": (RigLSparsity, dict(density=0.3, phases=[
        {"name": "evolve", "end": 12, "unit": "step", "interval": 3}, {"name": "sparse"}])),
}


def test_attach_registers_state_and_rejects_second_attach():
    model, sp = attached(MSRSSparsity)
    assert model.sparsity is sp
    keys = model.state_dict().keys()
    assert "sparsity.phase_index" in keys and "sparsity.global_step" in keys
    assert "enc.0.parametrizations.weight.0.logits" in keys
    with pytest.raises(RuntimeError):
        sp.attach(ToyModel())
    with pytest.raises(RuntimeError):
        MSRSSparsity().attach(model)


def test_penalty_is_reported_not_added_to_the_loss_and_its_gradient_reaches_the_logits():
    model, sp = attached(MSRSSparsity, penalty_weight=2.0, phi_init=0.5, penalty_normalize="none")
    opt = make_optimizer(model, sp)
    x, y = batch(0)
    loss, stats, _ = model(x, y)
    with sp.penalty_disabled():
        plain, pstats, _ = model(x, y)
    assert "sparsity_penalty" not in pstats
    assert torch.allclose(loss, plain)  # the task loss: backward builds no graph over the penalty
    loss.backward()
    task = [p.grad.clone() for p in sp.logit_parameters]
    sp._pre_step(opt, (), {})  # the optimizer pre-step hook adds lambda * dR/dphi = 2.0 to every logit
    for p, g in zip(sp.logit_parameters, task):
        assert torch.allclose(p.grad, g + 2.0)
    n = sum(p.numel() for p in sp.logit_parameters)
    pen = sp.penalty()
    assert torch.allclose(pen, torch.tensor(2.0 * 0.5 * n))  # lambda * sum(phi)
    loss2, stats2, _ = model(x, y)
    assert torch.allclose(stats2["sparsity_penalty"], pen)  # last step's penalty, for the logs
    model.eval()
    _, estats, _ = model(x, y)
    assert torch.allclose(estats["sparsity_penalty"], pen)
    model.train()
    sp._transition("test", next_epoch=False)  # search -> dense: no penalty any more
    assert float(model(x, y)[1]["sparsity_penalty"]) == 0.0


def test_dict_outputs_are_supported():
    class DictModel(ToyModel):
        def forward(self, x, y, **kw):
            loss, stats, w = super().forward(x, y)
            return {"loss": loss, "stats": stats, "weight": w}

    torch.manual_seed(0)
    model = DictModel()
    sp = MSRSSparsity(penalty_weight=1.0)
    sp.attach(model)
    out = model(*batch(0))
    assert "sparsity_penalty" in out["stats"] and out["stats"]["sparsity_penalty"].shape == ()
    out["loss"].backward()
    assert all(p.grad is not None for p in sp.logit_parameters)


def test_plain_dense_state_dict_loads_strictly_into_masked_model():
    torch.manual_seed(1)
    dense = ToyModel()
    sd = dense.state_dict()
    model, sp = attached(StaticSparsity, density=0.5)
    model.load_state_dict(sd)  # strict: dense keys are mapped, masks kept
    for t in sp.targets:
        m = t.parametrization.mask.bool()
        assert torch.equal(t.original[m], sd[t.name][m])  # kept weights loaded
        assert not t.original[~m].any()  # pruned ones held at exactly 0 (the fixed-mask forward relies on it)
        assert torch.equal(t.module.weight, sd[t.name] * t.parametrization.mask)
    assert abs(sp.global_density() - 0.5) < 0.01


def test_espnet_init_param_loads_dense_checkpoint(tmp_path):
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    torch.manual_seed(1)
    dense = ToyModel()
    torch.save(dense.state_dict(), tmp_path / "dense.pth")
    torch.save({k[4:]: v for k, v in dense.state_dict().items() if k.startswith("enc.")}, tmp_path / "enc.pth")
    model, sp = attached(MSRSSparsity)
    load_pretrained_model(str(tmp_path / "dense.pth"), model, ignore_init_mismatch=False)
    assert torch.equal(model.enc[0].parametrizations.weight.original, dense.enc[0].weight)
    model2, _ = attached(MSRSSparsity)
    load_pretrained_model(f"{tmp_path / 'enc.pth'}::enc", model2, ignore_init_mismatch=False)
    assert torch.equal(model2.enc[3].parametrizations.weight.original, dense.enc[3].weight)


@pytest.mark.parametrize("name", list(METHODS))
def test_resume_from_checkpoint_is_bitwise_identical(name, tmp_path):
    cls, conf = METHODS[name]
    n, k = 16, 7
    model, sp = attached(cls, **conf)
    opt = make_optimizer(model, sp)
    train(model, opt, sp, n)
    straight = copy.deepcopy(model.state_dict())

    model1, sp1 = attached(cls, **conf)
    opt1 = make_optimizer(model1, sp1)
    train(model1, opt1, sp1, k)
    torch.save({"model": model1.state_dict(), "opt": opt1.state_dict()}, tmp_path / "ckpt.pth")
    ckpt = torch.load(tmp_path / "ckpt.pth", weights_only=False)
    model2, sp2 = attached(cls, **conf)
    opt2 = make_optimizer(model2, sp2)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    assert sp2.phase == sp1.phase and sp2.steps == k
    train(model2, opt2, sp2, n - k, start=k)
    resumed = model2.state_dict()
    assert list(resumed) == list(straight)
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    assert sp2.phase == sp.phase


@pytest.mark.parametrize("name", ["msrs_search_sparse", "static", "gmp", "set", "rigl", "snip"])
def test_pruned_weights_stay_exactly_zero_with_adamw_and_noisy_gradients(name):
    cls, conf = METHODS[name]
    model, sp = attached(cls, **conf)
    opt = make_optimizer(model, sp, wd=0.1)
    # gradient noise on every stored weight (like ESPnet's --grad_noise) must not leak
    for t in sp.targets:
        t.original.register_hook(lambda g: g + torch.randn_like(g))
    train(model, opt, sp, 20)
    assert sp.phase == "sparse"
    for t in sp.targets:
        m = t.parametrization.mask.bool()
        w = t.original
        assert torch.equal(w[~m], torch.zeros_like(w[~m]))
        assert torch.equal(t.module.weight, w * m)
        st = opt.state[w]
        assert torch.equal(st["exp_avg"][~m], torch.zeros_like(w[~m]))
        assert torch.equal(st["exp_avg_sq"][~m], torch.zeros_like(w[~m]))
        assert bool((w[m] != 0).any())


def test_averaged_state_dict_is_repaired_on_load():
    cls, conf = METHODS["rigl"]
    model, sp = attached(cls, **conf)
    opt = make_optimizer(model, sp)
    states = []
    for i in range(3):
        train(model, opt, sp, 4, start=4 * i)
        states.append(copy.deepcopy(model.state_dict()))
    # ESPnet's average_nbest_models arithmetic: sum, divide non-int
    avg = {k: v.clone() for k, v in states[0].items()}
    for s in states[1:]:
        for k in avg:
            avg[k] = avg[k] + s[k]
    for k in avg:
        if not str(avg[k].dtype).startswith("torch.int"):
            avg[k] = avg[k] / 3
    assert avg["enc.0.parametrizations.weight.0.mask"].is_floating_point()
    assert int(avg["sparsity.checkpoint_count"]) == 3
    model2, sp2 = attached(cls, **conf)
    model2.load_state_dict(avg)
    assert sp2.steps == round((4 + 8 + 12) / 3) and sp2._s["checkpoint_count"] == 1
    for t in sp2.targets:
        assert t.parametrization.mask.dtype == torch.uint8
        assert t.parametrization.current_mode == FIXED
    # RigL keeps every layer's count: the averaged model has exactly the trained density
    assert sp2.layer_densities() == sp.layer_densities()


def test_deepcopy_keeps_controller_consistent():
    model, sp = attached(MSRSSparsity)
    clone = copy.deepcopy(model)
    par = clone.enc[0].parametrizations.weight[0]
    assert par._controller is clone.sparsity and clone.sparsity is not sp
    assert par.current_mode == SOFT
    x, y = batch(0)
    assert torch.allclose(clone(x, y)[0], model(x, y)[0])


def test_checkpoint_with_unknown_phase_index_is_rejected():
    model, sp = attached(MSRSSparsity)
    sd = model.state_dict()
    sd["sparsity.phase_index"] = torch.tensor(7)
    with pytest.raises(ValueError, match="phase index 7"):
        model.load_state_dict(sd)

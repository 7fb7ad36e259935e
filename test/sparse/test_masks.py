import copy

import pytest
import torch
import torch.nn.utils.parametrize as P

from msrs.sparse.masks import DENSE, FIXED, SOFT, MaskParametrization, soft_masked_weight


class _Ctl:
    soft_temperature = 3.0
    mask_scale = 2.0


def test_soft_masked_weight_matches_formula_and_gradcheck():
    w = torch.randn(5, 4, dtype=torch.double, requires_grad=True)
    phi = torch.randn(5, 4, dtype=torch.double, requires_grad=True)
    out = soft_masked_weight(w, phi, 2.5, 1.7)
    assert torch.allclose(out, w * torch.sigmoid(2.5 * phi.float()).double() * 1.7, atol=1e-6)
    # the sigmoid is computed in fp32: check the gradient against autograd of the same formula
    g = torch.randn(5, 4, dtype=torch.double)
    gw, gp = torch.autograd.grad(out, (w, phi), g)
    w2, p2 = w.detach().clone().requires_grad_(), phi.detach().clone().requires_grad_()
    ref = w2 * torch.sigmoid(2.5 * p2.float()).double() * 1.7
    rw, rp = torch.autograd.grad(ref, (w2, p2), g)
    assert torch.allclose(gw, rw, atol=1e-6) and torch.allclose(gp, rp, atol=1e-5)


def test_soft_mask_per_channel_logits_reduce_gradient():
    w = torch.randn(6, 3, 2, requires_grad=True)
    phi = torch.randn(6, 1, 1, requires_grad=True)
    out = soft_masked_weight(w, phi, 1.3, 1.0)
    out.sum().backward()
    p2 = phi.detach().clone().requires_grad_()
    (w.detach() * torch.sigmoid(1.3 * p2)).sum().backward()
    assert phi.grad.shape == (6, 1, 1)
    assert torch.allclose(phi.grad, p2.grad, atol=1e-6)


@pytest.mark.parametrize("t", [1e3, 1e6, 1e30])
def test_soft_mask_is_stable_at_large_temperature(t):
    w = torch.randn(4, 4, requires_grad=True)
    phi = torch.tensor([[-1.0, 1.0, -0.1, 0.1]] * 4, requires_grad=True)
    out = soft_masked_weight(w, phi, t, 2.0)
    assert torch.equal(out.detach(), (w * (phi > 0) * 2.0).detach())
    out.sum().backward()
    assert torch.isfinite(phi.grad).all() and torch.isfinite(w.grad).all()
    assert torch.equal(phi.grad, torch.zeros_like(phi.grad))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_soft_mask_under_autocast_keeps_mask_and_grads_fp32(dtype):
    lin = torch.nn.Linear(8, 8)
    par = MaskParametrization((8, 8), logits=True, phi_init=0.5, controller=_Ctl())
    P.register_parametrization(lin, "weight", par)
    par.set_mode(SOFT)
    par.logits.requires_grad_(True)
    with torch.autocast("cpu", dtype=dtype):
        w_eff = lin.weight
        y = lin(torch.randn(3, 8))
    assert w_eff.dtype == torch.float32  # the mask product stays fp32
    assert y.dtype == dtype  # the matmul runs in the autocast dtype
    y.float().sum().backward()
    assert par.logits.grad.dtype == torch.float32 and torch.isfinite(par.logits.grad).all()


def test_modes_keys_and_deepcopy():
    lin = torch.nn.Linear(4, 3)
    par = MaskParametrization((3, 4), logits=True, controller=_Ctl())
    P.register_parametrization(lin, "weight", par)
    keys = set(lin.state_dict())
    w = lin.parametrizations.weight.original.detach().clone()
    assert torch.equal(lin.weight, w)  # DENSE
    par.mask[0] = 0
    par.set_mode(FIXED)  # identity: the owner keeps pruned weights at 0, so w * mask == w
    assert lin.weight is lin.parametrizations.weight.original
    par.set_mode(SOFT)
    assert torch.allclose(lin.weight, w * 2.0 * 0.5)  # phi=0, scale 2
    assert set(lin.state_dict()) == keys
    assert lin.state_dict()["parametrizations.weight.0.mode"].item() == SOFT
    clone = copy.deepcopy(lin)
    assert torch.equal(clone.weight, lin.weight)
    with pytest.raises(ValueError):
        MaskParametrization((3, 4), logits=False).set_mode(SOFT)


def test_soft_factors_are_computed_once_per_logit_update():
    lin = torch.nn.Linear(4, 3)
    ctl = _Ctl()
    par = MaskParametrization((3, 4), logits=True, phi_init=0.3, controller=ctl)
    P.register_parametrization(lin, "weight", par)
    par.set_mode(SOFT)
    ms, dms = par.soft_factors()
    for _ in range(3):  # micro-batches of one accumulated step reuse the factors
        lin(torch.randn(2, 4)).sum().backward()
        assert par.soft_factors()[0] is ms
    m = torch.sigmoid(torch.tensor(0.3 * 3.0))
    assert torch.allclose(ms, 2.0 * m.expand(3, 4)) and torch.allclose(dms, (3.0 * 2.0 * m * (1 - m)).expand(3, 4))
    with torch.no_grad():
        par.logits.add_(0.1)  # an optimizer step changes the logits' version: recomputed
    assert par.soft_factors()[0] is not ms
    ctl2 = type("C", (), {"soft_temperature": 5.0, "mask_scale": 2.0})()
    par.__dict__["_controller"] = ctl2  # a new temperature: recomputed
    assert torch.allclose(par.soft_factors()[0], 2.0 * torch.sigmoid(torch.tensor(0.4 * 5.0)).expand(3, 4))


def test_mode_restored_after_load():
    a = torch.nn.Linear(2, 2)
    pa = MaskParametrization((2, 2))
    P.register_parametrization(a, "weight", pa)
    pa.set_mode(FIXED)
    b = torch.nn.Linear(2, 2)
    pb = MaskParametrization((2, 2))
    P.register_parametrization(b, "weight", pb)
    b.load_state_dict(a.state_dict())
    assert pb.current_mode == FIXED and pb.current_mode != DENSE

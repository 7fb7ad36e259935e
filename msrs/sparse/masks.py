"""Mask parametrization installed on every target weight.

One :class:`MaskParametrization` is registered with
``torch.nn.utils.parametrize`` on each target tensor (e.g. ``linear.weight``).
It stays registered in every phase, so ``state_dict`` keys never change; a
``mode`` buffer selects what the forward pass computes:

==========  ==================================================================
mode        effective weight
==========  ==================================================================
``DENSE``   ``w`` (identity; the mask is ignored)
``SOFT``    ``w * scale * sigmoid(l * phi)`` with learned logits ``phi`` and the
            controller's temperature ``l`` (MSRS / Continuous Sparsification)
``FIXED``   ``w * mask`` with a binary ``uint8`` mask
==========  ==================================================================

State-dict keys of a masked ``nn.Linear`` named ``fc``::

    fc.parametrizations.weight.original   the stored weight (float)
    fc.parametrizations.weight.0.mode     int64 scalar
    fc.parametrizations.weight.0.mask     uint8, weight shape (or (out, 1, ...) per channel)
    fc.parametrizations.weight.0.logits   float32, same shape as ``mask`` (search methods only)

The mask is ``uint8`` rather than ``bool`` on purpose: ESPnet's n-best averaging
adds state dicts, and ``bool + bool`` is a logical *or*, which would lose the
vote count; ``uint8`` sums and is then divided into a fraction that
:mod:`msrs.sparse.averaging` re-binarises exactly.
"""

from typing import Optional, Tuple

import torch

DENSE = 0
SOFT = 1
FIXED = 2
MODE_NAMES = {DENSE: "dense", SOFT: "soft", FIXED: "fixed"}


class _SoftMaskedWeight(torch.autograd.Function):
    """``w * scale * sigmoid(t * phi)`` with a hand-written backward.

    Fusing saves three full-size temporaries per target and step compared with
    composing the elementwise ops under autograd (see ``bench/sparse_overhead.py``).
    The sigmoid is evaluated in fp32 whatever the weight dtype; at large ``t``
    it saturates to exactly 0/1 and the gradient ``m (1 - m)`` to 0 (no NaN).
    """

    @staticmethod
    def forward(ctx, w: torch.Tensor, phi: torch.Tensor, t: float, scale: float):
        m = torch.mul(phi.float(), t).sigmoid_()
        out = torch.mul(w, m)
        if scale != 1.0:
            out.mul_(scale)
        ctx.save_for_backward(w, m)
        ctx.t = t
        ctx.scale = scale
        return out.to(w.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        w, m = ctx.saved_tensors
        t, scale = ctx.t, ctx.scale
        grad_w = grad_phi = None
        # gm = grad * scale * m is both dL/dw and a factor of dL/dphi:
        # dL/dphi = gm * w * t * (1 - m)
        gm = torch.mul(grad.float(), m)
        if scale != 1.0:
            gm.mul_(scale)
        if ctx.needs_input_grad[1]:
            g = torch.mul(gm, w)
            g = torch.addcmul(g, g, m, value=-1.0).mul_(t)
            if g.shape != m.shape:  # per-channel logits: reduce broadcast dims
                dims = [i for i, (a, b) in enumerate(zip(g.shape, m.shape)) if a != b]
                g = g.sum(dim=dims, keepdim=True)
            grad_phi = g
        if ctx.needs_input_grad[0]:
            grad_w = gm.to(w.dtype) if gm.shape == w.shape else gm.expand_as(w).to(w.dtype)
        return grad_w, grad_phi, None, None


def soft_masked_weight(
    w: torch.Tensor, phi: torch.Tensor, temperature: float, scale: float = 1.0
) -> torch.Tensor:
    """Return ``w * scale * sigmoid(temperature * phi)``.

    Args:
        w: weight, any shape, any float dtype.
        phi: logits, ``w``'s shape or broadcastable to it (per output channel).
        temperature: the soft temperature ``l`` (> 0).
        scale: constant multiplier (``1 / sigmoid(l0 * phi0)`` makes the initial
            mask exactly 1).

    Returns:
        Tensor of ``w``'s shape and dtype.
    """
    return _SoftMaskedWeight.apply(w, phi, float(temperature), float(scale))


class MaskParametrization(torch.nn.Module):
    """Parametrization computing the effective (masked) weight.

    Args:
        mask_shape: shape of ``mask``/``logits``; the weight shape for
            element-wise masks, ``(out, 1, ..., 1)`` for per-channel masks.
        logits: whether to hold learnable logits ``phi`` (search methods).
        phi_init: initial value of every logit.
        controller: the owning sparsity object; read for the soft temperature
            and scale (kept as a plain reference, not a sub-module, so it is not
            duplicated in the ``state_dict``).
    """

    def __init__(
        self,
        mask_shape: Tuple[int, ...],
        logits: bool = False,
        phi_init: float = 0.0,
        controller: Optional[object] = None,
    ):
        super().__init__()
        self.register_buffer("mode", torch.tensor(DENSE, dtype=torch.int64))
        self.register_buffer("mask", torch.ones(mask_shape, dtype=torch.uint8))
        if logits:
            self.logits = torch.nn.Parameter(
                torch.full(mask_shape, float(phi_init), dtype=torch.float32)
            )
        else:
            self.logits = None
        # Plain attributes (bypass Module.__setattr__): not state, not children.
        self.__dict__["_controller"] = controller
        self._mode = DENSE
        self._capture_grad = False
        self.dense_grad: Optional[torch.Tensor] = None
        self.register_load_state_dict_post_hook(_refresh_mode_after_load)

    # -- mode ---------------------------------------------------------------
    @property
    def current_mode(self) -> int:
        """The active mode (``DENSE``, ``SOFT`` or ``FIXED``)."""
        return self._mode

    def set_mode(self, mode: int) -> None:
        """Switch the forward computation (``DENSE``, ``SOFT`` or ``FIXED``)."""
        if mode not in MODE_NAMES:
            raise ValueError(f"unknown mask mode {mode}")
        if mode == SOFT and self.logits is None:
            raise ValueError("SOFT mode needs logits (a search method)")
        self._mode = int(mode)
        self.mode.fill_(int(mode))

    # -- dense-gradient capture (RigL) --------------------------------------
    def capture_dense_grad(self, enabled: bool) -> None:
        """Accumulate ``dL/d(w*mask)`` (the dense gradient) in ``dense_grad``."""
        self._capture_grad = bool(enabled)
        if not enabled:
            self.dense_grad = None

    def _accumulate(self, grad: torch.Tensor) -> None:
        g = grad.detach().float()
        if self.dense_grad is None:
            self.dense_grad = g.clone()
        else:
            self.dense_grad.add_(g)

    # -- forward ------------------------------------------------------------
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        mode = self._mode
        if mode == DENSE:
            return w
        if mode == SOFT:
            c = self._controller
            return soft_masked_weight(w, self.logits, c.soft_temperature, c.mask_scale)
        out = w * self.float_mask(w.dtype)
        if self._capture_grad and out.requires_grad:
            out.register_hook(self._accumulate)
        return out

    # -- helpers ------------------------------------------------------------
    def float_mask(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The mask as ``dtype`` (cached until the mask tensor changes).

        Mixed ``uint8 x float`` multiplies are several times slower than
        ``float x float`` on CPU; the cache is keyed by the mask's storage and
        in-place version counter, so any update (``copy_``, loading) refreshes it.
        """
        m = self.mask
        key = (m.data_ptr(), m._version, dtype, m.device)
        cache = self.__dict__.get("_float_cache")
        if cache is None or cache[0] != key:
            cache = (key, m.to(dtype))
            self.__dict__["_float_cache"] = cache
        return cache[1]

    def expanded_mask(self, like: torch.Tensor) -> torch.Tensor:
        """The binary mask broadcast to ``like``'s shape (bool)."""
        return self.mask.bool().expand_as(like)

    def extra_repr(self) -> str:
        return (
            f"mode={MODE_NAMES[self._mode]}, mask_shape={tuple(self.mask.shape)}, "
            f"logits={self.logits is not None}"
        )


def _refresh_mode_after_load(module: MaskParametrization, incompatible_keys) -> None:
    mode = int(module.mode.item())
    if mode in MODE_NAMES and (mode != SOFT or module.logits is not None):
        module._mode = mode

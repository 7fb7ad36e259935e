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
``FIXED``   ``w * mask`` with a binary ``uint8`` mask (computed as ``w``: pruned
            weights are held at exactly 0 by the owner's step hooks)
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
    """``w * ms`` with ``ms = s * sigmoid(l * phi)`` precomputed once per step.

    ``ms`` and its derivative ``dms = d ms / d phi = l * ms * (1 - m)`` are
    computed without autograd (see :meth:`MaskParametrization.soft_factors`)
    and cached until the logits or the temperature change, so under gradient
    accumulation they are evaluated once per optimizer step, not once per
    micro-batch; each forward costs one multiply, each backward two
    (``dL/dw = g * ms``, ``dL/dphi = g * w * dms``).  Factors are fp32
    whatever the weight dtype; at large ``l`` they saturate to exactly 0/1 and
    ``dms`` to 0 (no NaN).
    """

    @staticmethod
    def forward(ctx, w: torch.Tensor, phi: torch.Tensor, ms: torch.Tensor, dms: torch.Tensor):
        ctx.save_for_backward(w, ms, dms)
        return torch.mul(w, ms).to(w.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        w, ms, dms = ctx.saved_tensors
        grad_w = grad_phi = None
        g = grad.float()
        if ctx.needs_input_grad[1]:
            gp = torch.mul(g, w).mul_(dms)
            if gp.shape != dms.shape:  # per-channel logits: reduce broadcast dims
                dims = [i for i, (a, b) in enumerate(zip(gp.shape, dms.shape)) if a != b]
                gp = gp.sum(dim=dims, keepdim=True)
            grad_phi = gp
        if ctx.needs_input_grad[0]:
            grad_w = torch.mul(g, ms).to(w.dtype)
        return grad_w, grad_phi, None, None


def soft_factors(phi: torch.Tensor, temperature: float, scale: float = 1.0):
    """``(ms, dms)``: the soft mask ``s * sigmoid(l phi)`` and its derivative in ``phi``.

    Args:
        phi: logits (any shape).
        temperature: the soft temperature ``l`` (> 0).
        scale: the constant ``s``.

    Returns:
        Two fp32 tensors of ``phi``'s shape, without autograd history.
    """
    t, s = float(temperature), float(scale)
    with torch.no_grad():
        ms = torch.mul(phi.detach().float(), t).sigmoid_()
        if s != 1.0:
            ms.mul_(s)
        dms = torch.sub(s, ms).mul_(ms).mul_(t / s)  # l s m (1 - m) = (l / s) ms (s - ms)
    return ms, dms


def soft_masked_weight(
    w: torch.Tensor, phi: torch.Tensor, temperature: float, scale: float = 1.0
) -> torch.Tensor:
    """Return ``w * scale * sigmoid(temperature * phi)`` (differentiable in ``w`` and ``phi``).

    Args:
        w: weight, any shape, any float dtype.
        phi: logits, ``w``'s shape or broadcastable to it (per output channel).
        temperature: the soft temperature ``l`` (> 0).
        scale: constant multiplier (``1 / sigmoid(l0 * phi0)`` makes the initial
            mask exactly 1).

    Returns:
        Tensor of ``w``'s shape and dtype.
    """
    ms, dms = soft_factors(phi, temperature, scale)
    return _SoftMaskedWeight.apply(w, phi, ms, dms)


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

    In ``FIXED`` mode the forward is the identity: the owner keeps pruned
    weights exactly 0 (zeroed on entering the phase and after every load,
    re-zeroed after every optimizer step, their gradients zeroed before it),
    so ``w * mask == w`` and the multiply would be redundant.
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
        self.__dict__["_soft_cache"] = None
        self._mode = DENSE
        #: RigL's dense gradient of the current update step (set by the evolve kind)
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
        if mode == SOFT and (self.logits is None or self.logits.numel() == 0):
            raise ValueError("SOFT mode needs logits (a search method)")
        self._mode = int(mode)
        self.mode.fill_(int(mode))

    # -- forward ------------------------------------------------------------
    def soft_factors(self):
        """``(ms, dms)`` of :func:`soft_factors` for the current logits and temperature (cached)."""
        c = self._controller
        t, s = float(c.soft_temperature), float(c.mask_scale)
        phi = self.logits
        key = (phi.data_ptr(), phi._version, t, s, phi.device)
        cache = self.__dict__["_soft_cache"]
        if cache is None or cache[0] != key:
            cache = (key,) + soft_factors(phi, t, s)
            self.__dict__["_soft_cache"] = cache
        return cache[1], cache[2]

    def drop_soft_cache(self) -> None:
        """Free the cached soft-mask factors (e.g. after the search)."""
        self.__dict__["_soft_cache"] = None

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if self._mode == SOFT:
            ms, dms = self.soft_factors()
            return _SoftMaskedWeight.apply(w, self.logits, ms, dms)
        return w  # DENSE, and FIXED (pruned weights are kept at exactly 0)

    # -- releasing memory after the search -----------------------------------
    @torch.no_grad()
    def release(self, logits: bool = True, mask: bool = False) -> None:
        """Replace the logits (and the mask) by zero-stride views of one element.

        Shapes, and so state-dict keys, shapes and ESPnet's averaging, are
        unchanged; memory and checkpoint bytes drop to a few bytes.  Released
        logits are 0 and frozen; a released mask is all ones.
        """
        if logits and self.logits is not None and not is_released(self.logits):
            self.logits.grad = None
            self.logits.requires_grad_(False)
            self.logits.data = released_like(self.logits, 0)
            self.drop_soft_cache()
        if mask and not is_released(self.mask):
            self.mask = released_like(self.mask, 1)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        # A released tensor (stored or ours) cannot be copied into: adopt the stored one.
        adopted = []
        for name in ("logits", "mask"):
            key = prefix + name
            mine = getattr(self, name)
            if mine is None or key not in state_dict:
                continue
            stored = state_dict[key]
            if not (is_released(stored) or is_released(mine)) or stored.shape != mine.shape:
                continue
            value = stored.to(mine.device, mine.dtype)
            value = released_like(mine, value.reshape(-1)[0].item()) if is_released(stored) else value.clone()
            if name == "logits":
                mine.data = value
            else:
                self.mask = value
            adopted.append((key, state_dict.pop(key)))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)
        for key, value in adopted:
            state_dict[key] = value
            if key in missing:
                missing.remove(key)

    # -- helpers ------------------------------------------------------------
    def float_mask(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The mask as ``dtype`` (cached until the mask tensor changes).

        ``grad.mul_(float_mask)`` is about 14x faster on CPU than
        ``masked_fill_`` with a boolean mask and 10x faster than a
        ``uint8 x float`` multiply (measured on 20 M entries, one thread); the
        cache costs 1x the weight bytes in fixed-mask phases.  It is keyed by
        the mask's storage and in-place version, so any update refreshes it.
        """
        m = self.mask
        key = (m.data_ptr(), m._version, dtype, m.device, m.shape)
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


def is_released(t: torch.Tensor) -> bool:
    """Whether ``t`` is a released tensor (a zero-stride view of one element)."""
    return t.numel() > 1 and all(st == 0 for st in t.stride())


def released_like(t: torch.Tensor, value) -> torch.Tensor:
    """A zero-stride view of one ``value`` element with ``t``'s shape, dtype and device."""
    return torch.full((), value, dtype=t.dtype, device=t.device).expand(t.shape)


def _refresh_mode_after_load(module: MaskParametrization, incompatible_keys) -> None:
    mode = int(module.mode.item())
    if mode in MODE_NAMES and (mode != SOFT or module.logits is not None):
        module._mode = mode

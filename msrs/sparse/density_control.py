"""Target-density mode of the learned-mask search: ``target_density: 0.3``.

MSRS's density is an outcome of ``lambda``, the learning rate and the model;
to compare methods at equal density without hand-tuning ``lambda`` per model,
``target_density`` lets a controller set the penalty weight during the
search, and the hard decision becomes the top-``target_density`` logits, so
the frozen mask has the target density exactly.

**Controller.** Every ``interval`` optimizer steps it reads the logit ``q``
at the ``1 - target`` quantile (on a fixed strided sample of at most 1 M
logits, each counted for the weights it gates) -- the logit that should sit
on the threshold -- and asks the logits to close the gap ``q - threshold``
in about ``horizon`` steps.  Under Adam a logit moves about
``lr_logits * pull / sqrt(v)`` per step, with ``sqrt(v)`` its optimizer's
running RMS gradient, so the pull needed is
``(q - threshold) * sqrt(v) / (horizon * lr_logits)`` and::

    lambda = clip(gain * (q - threshold) * sqrt(v)_median / (horizon * lr_logits * c), +-max_lambda)

with ``sqrt(v)_median`` the median over the logits of the bias-corrected
RMS in Adam's state (1 before the first step or for optimizers without
one) and ``c`` the pull's reference (``penalty_normalize``: ``lambda`` is in
units of a task gradient).  ``q > threshold`` means too many logits above
the threshold: pull down; below: a negative weight pushes logits up (a
proportional controller in logit space; the plant integrates the pull).
Reading ``sqrt(v)`` matters in short searches: Adam remembers the large
gradients of the first, warm-up steps for a few hundred steps (``beta2``
0.98), and a controller that assumed ``sqrt(v) = c`` moved the mini
recipe's logits at 5 % of the rate it asked for (threshold density 0.997
after its 183-step search).  An integral term on top (tried, 0.2 per
update) wound up while saturated logits could not move and then overshot
to density 0.05 for a target of 0.3 on the toy model.  ``penalty_weight``
is only the value before the first update.

**What it achieves, measured.**  On the toy model (lr 1e-2) the threshold
density settled within a point of 0.3 and 0.7 in ~50 steps.  On the mini VSR
model (lr 5e-3, ``phi_init: 0``, logits lr x5, 120 steps) the logits stay
bunched within about 0.1 of the threshold, and the *task* gradient alone
moves the threshold density by +-0.2 within ten steps whatever the pull
(larger gains only made it bang-bang: 0.1 <-> 0.9); the threshold density at
the freeze was 0.29 and 0.73 for targets 0.3 and 0.7.  Hence the top-k hard
decision: the frozen density is exact, and the controller keeps the logits'
own threshold decision near it (``threshold_density`` in the freeze event;
the window test also requires it within ``tolerance`` before an early
freeze).  The weight in force is the ``sparsity.penalty_lambda`` buffer
(checkpointed, logged as ``sparsity_lambda``), so a resumed run continues
exactly.
"""

from typing import Any, Dict, Optional

import torch

DEFAULT_CONF: Dict[str, Any] = {"gain": 1.0, "horizon": 50, "max_lambda": 10.0, "interval": 5, "tolerance": 0.02}


class DensityController:
    """Proportional control of the penalty weight toward ``target`` density.

    Args:
        target: density in ``(0, 1)``.
        conf: ``{gain, interval, tolerance}`` overriding :data:`DEFAULT_CONF`.
    """

    def __init__(self, target: float, conf: Optional[Dict[str, Any]] = None):
        if not 0.0 < float(target) < 1.0:
            raise ValueError(f"sparsity_conf target_density must be in (0, 1), got {target}")
        conf = dict(conf or {})
        bad = set(conf) - set(DEFAULT_CONF)
        if bad:
            raise ValueError(
                f"sparsity_conf target_density_conf: unknown key(s) {sorted(bad)}; valid: {sorted(DEFAULT_CONF)}"
            )
        full = {**DEFAULT_CONF, **conf}
        self.target = float(target)
        self.gain = float(full["gain"])
        self.horizon = float(full["horizon"])
        self.max_lambda = float(full["max_lambda"])
        self.interval = int(full["interval"])
        self.tolerance = float(full["tolerance"])
        if self.interval < 1 or self.gain <= 0 or self.tolerance <= 0:
            raise ValueError("sparsity_conf target_density_conf: gain, interval and tolerance must be > 0")

    @staticmethod
    @torch.no_grad()
    def hard_density(sp, threshold: float) -> float:
        """Density of ``phi > threshold`` over the masked weights (per-channel logits weighted)."""
        return sp.global_density(masks=[t.parametrization.logits > threshold for t in sp.targets])

    @staticmethod
    @torch.no_grad()
    def logit_sample(sp, max_samples: int = 1 << 20) -> torch.Tensor:
        """Logits (every k-th of each target, k fixed by the model size), each repeated by the weights it gates."""
        total = sum(t.parametrization.logits.numel() for t in sp.targets)
        k = max(1, -(-total // max_samples))
        parts = []
        for t in sp.targets:
            p = t.parametrization.logits.detach().reshape(-1)[::k].float()
            fan = t.numel // t.parametrization.logits.numel()
            parts.append(p if fan == 1 else p.repeat_interleave(fan))
        return torch.cat(parts)

    def step(self, sp, done: int, threshold: float) -> None:
        """Update ``sp``'s penalty weight after phase step ``done``."""
        if done % self.interval:
            return
        phi = self.logit_sample(sp)
        q = torch.quantile(phi[: 1 << 24], 1.0 - self.target) if phi.numel() <= 1 << 24 else \
            torch.kthvalue(phi, max(1, int(round((1.0 - self.target) * phi.numel())))).values
        lr = self.logit_lr(sp)
        c = float(sp._s["pull_coef"])
        scale = self.logit_adam_rms(sp) / c if c > 0 else 1.0
        lam = float(q - threshold) * scale / (self.horizon * lr) if lr > 0 else 0.0
        sp._set("penalty_lambda", max(-self.max_lambda, min(self.max_lambda, self.gain * lam)))

    @staticmethod
    def logit_lr(sp) -> float:
        """The logits' current learning rate (their param group's ``lr`` times its ``lr_scale``)."""
        ids = {id(p) for p in sp.logit_parameters}
        for opt in sp._optimizers:
            for g in opt.param_groups:
                if any(id(p) in ids for p in g["params"]):
                    return float(g["lr"]) * float(g.get("lr_scale", 1.0))
        return 0.0

    @staticmethod
    @torch.no_grad()
    def logit_adam_rms(sp, max_samples: int = 1 << 18) -> float:
        """Median over the logits of Adam's bias-corrected ``sqrt(v)`` (1.0 when there is none)."""
        parts = []
        logits = sp.logit_parameters
        ids = {id(p) for p in logits}
        k = max(1, -(-sum(p.numel() for p in logits) // max_samples))
        for opt in sp._optimizers:
            for g in opt.param_groups:
                beta2 = g.get("betas", (None, None))[1]
                for p in g["params"]:
                    st = opt.state.get(p) or {}
                    v = st.get("exp_avg_sq")
                    if beta2 is None or v is None or id(p) not in ids:
                        continue
                    step = float(st.get("step", 0))
                    if step <= 0:
                        continue
                    parts.append(v.reshape(-1)[::k].float() / (1.0 - beta2 ** step))
        if not parts:
            return 1.0
        return float(torch.cat(parts).median().sqrt())

    def converged(self, density: float) -> bool:
        return abs(density - self.target) <= self.tolerance

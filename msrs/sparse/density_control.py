"""Target-density mode of the learned-mask search: ``target_density: 0.3``.

During a search phase, every ``interval`` optimizer steps the controller
measures the density ``d`` of the hard decision (``phi > threshold``) and
moves the penalty weight by dual ascent on the constraint ``d = target``::

    lambda <- lambda + gain * (d - target)

(too dense: pull harder; too sparse: pull less, down to a negative weight
that pushes logits up).  This is the Lagrange-multiplier update of
``min L_task  s.t.  density = target`` with the density as the constraint
measure; ``lambda`` is in the units of ``penalty_normalize: grad_rms`` (the
pull per logit in units of the RMS task gradient), which the mode requires,
so the gain does not depend on the model's size.  The weight in force is
the ``sparsity.penalty_lambda`` buffer (checkpointed, logged as
``sparsity_lambda``).

The controller also gates the freeze: a window counts as stable only when
``|d - target| <= tolerance``.  The frozen mask is the hard decision (not a
top-k to the exact target; use the search phase's ``density`` option for
that), so the final density is where the controller brought the logits.
"""

from typing import Any, Dict, Optional

import torch

DEFAULT_CONF: Dict[str, Any] = {"gain": 2.0, "interval": 5, "tolerance": 0.02}


class DensityController:
    """Dual ascent of the penalty weight toward ``target`` density.

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
        self.interval = int(full["interval"])
        self.tolerance = float(full["tolerance"])
        if self.interval < 1 or self.gain <= 0 or self.tolerance <= 0:
            raise ValueError("sparsity_conf target_density_conf: gain, interval and tolerance must be > 0")

    @staticmethod
    @torch.no_grad()
    def hard_density(sp, threshold: float) -> float:
        """Density of ``phi > threshold`` over the masked weights (per-channel logits weighted)."""
        kept = torch.stack(
            [(t.parametrization.logits > threshold).sum() * (t.numel // t.parametrization.logits.numel())
             for t in sp.targets]
        )
        return float(kept.sum().item()) / max(sp.num_target_weights, 1)

    def step(self, sp, done: int, threshold: float) -> None:
        """Update ``sp``'s penalty weight after phase step ``done``."""
        if done % self.interval:
            return
        d = self.hard_density(sp, threshold)
        sp._set("penalty_lambda", sp._s["penalty_lambda"] + self.gain * (d - self.target))

    def converged(self, density: float) -> bool:
        return abs(density - self.target) <= self.tolerance

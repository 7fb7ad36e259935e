"""Statistics of a sparsity object: densities, per-epoch records, events, log lines."""

import logging
import math
from typing import Any, Dict, List, Optional, Sequence

import torch

from msrs.sparse.masks import DENSE, SOFT
from msrs.sparse.targets import layer_group

logger = logging.getLogger("msrs.sparse")


class StatsMixin:
    """Densities and records of an :class:`AbsSparsity` (read-only views of its state)."""

    @torch.no_grad()
    def _active_counts(self, masks: Optional[Sequence[torch.Tensor]] = None) -> List[float]:
        if masks is None:
            mode = self._mode()
            if mode == DENSE:
                return [float(t.numel) for t in self._targets]
            masks = self.hard_masks() if mode == SOFT else [t.parametrization.mask for t in self._targets]
        sums = torch.stack([m.sum().float() * (t.numel / m.numel()) for t, m in zip(self._targets, masks)])
        return sums.tolist()

    def layer_densities(self, masks: Optional[Sequence[torch.Tensor]] = None) -> Dict[str, float]:
        """Density (fraction of active weights) of each target, by parameter name.

        In a search phase this is the density of the hard decision.
        """
        counts = self._active_counts(masks)
        return {t.name: c / t.numel for t, c in zip(self._targets, counts)}

    def global_density(self, masks: Optional[Sequence[torch.Tensor]] = None) -> float:
        counts = self._active_counts(masks)
        return float(sum(counts) / max(self.num_target_weights, 1))

    def group_densities(self, layers: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        """Densities aggregated per module group (see ``report_depth``)."""
        layers = self.layer_densities() if layers is None else layers
        num: Dict[str, float] = {}
        den: Dict[str, float] = {}
        for t in self._targets:
            g = layer_group(t.name, self.report_depth)
            num[g] = num.get(g, 0.0) + layers[t.name] * t.numel
            den[g] = den.get(g, 0.0) + t.numel
        return {g: num[g] / den[g] for g in num}

    def _epoch_flip_rate(self) -> float:
        if self.phase == "search":
            r = self._s["flip_rate"]
            return float("nan") if r < 0 else r
        return self._flips_in_epoch / max(self.num_target_weights, 1)

    def epoch_stats(self, record: Optional[Dict[str, Any]] = None) -> Dict[str, float]:
        """Per-epoch scalars for ESPnet's reporter (keys are new reporter keys)."""
        record = record or self.epoch_record(self._s["epoch"])
        out = {
            "sparsity_density": float(record["global_density"]),
            "sparsity_phase": float(record["phase_index"]),
        }
        if record.get("flip_rate") is not None:
            out["sparsity_flip_rate"] = float(record["flip_rate"])
        if record.get("temperature") is not None:
            out["sparsity_temperature"] = float(record["temperature"])
        if record.get("lambda") is not None:
            out["sparsity_lambda"] = float(record["lambda"])
        if record.get("threshold_density") is not None:
            out["sparsity_threshold_density"] = float(record["threshold_density"])
        for g, d in self.group_densities(record["layers"]).items():
            out[f"density/{g}"] = d
        return out

    def epoch_record(self, epoch: int) -> Dict[str, Any]:
        """The ``sparsity.jsonl`` line for ``epoch`` (docs/architecture.md)."""
        search = self.phase == "search"
        with torch.no_grad():
            pen = self.penalty() if search else None
        return {
            "epoch": int(epoch),
            "step": self._s["global_step"],
            "phase": self.phase,
            "phase_index": self._s["phase_index"],
            "temperature": self._s["temperature"] if search else None,
            "lambda": self._s["penalty_lambda"] if search and self.uses_logits else None,
            "global_density": self.global_density(),
            "flip_rate": _nan_to_none(self._epoch_flip_rate()),
            "penalty": None if pen is None else float(pen.detach()),
            "layers": self.layer_densities(),
            **(self._search_record() if search and self.uses_logits else {}),
        }

    @torch.no_grad()
    def _search_record(self) -> Dict[str, Any]:
        """Where the logits are: the density of their own threshold decision, the pull's
        reference ``c`` (:mod:`msrs.sparse.penalties`) and the 5/30/50/70/95 % quantiles of
        the logits (each counted for the weights it gates; a strided sample of <= 1 M)."""
        from msrs.sparse.density_control import DensityController

        thr = float(self.current_phase.options.get("threshold", 0.0))
        # on the CPU: a sample of <= 256 k logits, and quantile's q must share the input's device
        phi = DensityController.logit_sample(self, max_samples=1 << 18).cpu()
        q = torch.quantile(phi, torch.tensor([0.05, 0.3, 0.5, 0.7, 0.95])) if phi.numel() else None
        return {
            "threshold_density": DensityController.hard_density(self, thr),
            "pull_coef": self._s["pull_coef"],
            "logit_quantiles": None if q is None else [round(float(x), 4) for x in q],
        }

    def freeze_record(self) -> Dict[str, Any]:
        s = self._s
        return {
            "method": self.method_name,
            "phases": [p.to_dict() for p in self.phase_list],
            "frozen": s["freeze_epoch"] >= 0,
            "freeze_epoch": s["freeze_epoch"] if s["freeze_epoch"] >= 0 else None,
            "freeze_step": s["freeze_step"] if s["freeze_step"] >= 0 else None,
            "density_at_freeze": s["freeze_density"] if s["freeze_density"] >= 0 else None,
        }

    def _event(self, kind: str, **kw) -> Dict[str, Any]:
        return dict(type=kind, epoch=self._s["epoch"], step=self._s["global_step"], phase=self.phase, **kw)

    def pop_events(self) -> List[Dict[str, Any]]:
        ev, self.events = self.events, []
        return ev

    def _log_transition(self, previous, index: int, new, reason: str) -> None:
        self.log_info(
            "phase %d '%s' -> %d '%s' (%s) at epoch %d step %d, density %.4f",
            previous.index, previous.kind, index, new.kind, reason, self._s["epoch"],
            self._s["global_step"], self.global_density(),
        )

    @staticmethod
    def log_info(msg: str, *args) -> None:
        logger.info("sparsity: " + msg, *args)

    @staticmethod
    def log_warning(msg: str, *args) -> None:
        logger.warning("sparsity: " + msg, *args)


def _nan_to_none(x: float) -> Optional[float]:
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or x < 0)) else x

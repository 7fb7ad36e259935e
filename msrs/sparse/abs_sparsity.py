"""Abstract base of every sparsity method (MSRS and the baselines).

An :class:`AbsSparsity` is one ``torch.nn.Module`` per model.  ``attach(model)``

1. selects the target weights (:mod:`msrs.sparse.targets`),
2. registers a :class:`~msrs.sparse.masks.MaskParametrization` on each (kept in
   every phase, so ``state_dict`` keys never change),
3. registers itself as ``model.sparsity``: its buffers (phase index, step and
   epoch counters, temperature, freeze record, ...) are checkpointed with the
   model,
4. installs a forward hook on ``model`` that adds :meth:`penalty` to ESPnet's
   ``(loss, stats, weight)`` output (``stats["sparsity_penalty"]``, updated
   ``stats["loss"]``), so any ``AbsESPnetModel`` works unchanged, and
5. installs load-state-dict hooks: a plain dense state dict (``x.weight``)
   loads into the masked model; masks averaged by ESPnet's n-best averaging
   are re-binarised and integer counters (which averaging sums) restored.

The phase scheduler (:mod:`msrs.sparse.phases`) is driven by

* :meth:`start_epoch` / :meth:`end_epoch`, called by
  :class:`msrs.sparse.trainer.MsrsTrainer` (or your own loop), and
* optimizer step hooks installed by :meth:`register_optimizer` (called by
  :meth:`msrs.sparse.task.SparsityTaskMixin.build_optimizers`): gradients of
  pruned weights are zeroed before the step, pruned weights re-zeroed after it,
  step counters, per-step temperature, GMP/SET/RigL updates and step-unit
  phase ends.

Python-side mirrors of the scalar state avoid a device sync per step; they are
refreshed from the buffers after every ``load_state_dict``.

Subclasses (one per method) set ``method_name``, ``uses_logits`` and
``supported_phases``, give :meth:`default_phases` and override the hooks
:meth:`init_topology`, :meth:`init_topology_from_grads` and
:meth:`grow_scores` where they differ.
"""

import logging
import math
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Sequence

import torch

from msrs.sparse import topology
from msrs.sparse.distributions import layer_densities as _distribution_densities
from msrs.sparse.masks import DENSE, FIXED, SOFT, MaskParametrization
from msrs.sparse.phases import Phase, parse_phases
from msrs.sparse.schedules import cubic_density, decayed_fraction, interpolate
from msrs.sparse.targets import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    DEFAULT_MODULE_TYPES,
    Target,
    layer_group,
    select_targets,
)

logger = logging.getLogger(__name__)

_KIND_MODE = {"dense": DENSE, "search": SOFT, "sparse": FIXED, "prune": FIXED, "evolve": FIXED}

# Scalar state, checkpointed as buffers of ``model.sparsity``.
_INT_STATE = (
    "checkpoint_count",  # 1; ESPnet's averaging sums ints, so n after averaging n models
    "phase_index",
    "phase_start_epoch",
    "phase_start_step",
    "global_step",  # optimizer steps taken
    "epoch",  # current (or last) training epoch, 1-based; 0 before training
    "epoch_start_step",
    "steps_per_epoch",  # steps of the last complete epoch; 0 unknown
    "stable_windows",
    "has_mask",
    "pending_init",
    "freeze_epoch",
    "freeze_step",
)
_FLOAT_STATE = ("temperature", "flip_rate", "freeze_density", "soft_scale")
_STATE_DEFAULTS = {
    "checkpoint_count": 1,
    "freeze_epoch": -1,
    "freeze_step": -1,
    "freeze_density": -1.0,
    "flip_rate": -1.0,  # not measured yet
    "temperature": 1.0,
    "soft_scale": 1.0,  # the soft mask's constant factor (read by squash/report)
}


class AbsSparsity(torch.nn.Module, ABC):
    """One object per model; owns the masks, their schedule and their state.

    Args:
        phases: the phase list (see :mod:`msrs.sparse.phases`); ``None`` uses
            :meth:`default_phases`.
        include: regexes selecting target parameter names (full match).
        exclude: regexes removing targets (full match).
        module_types: module kinds whose ``weight`` may be a target
            (``linear``, ``conv1d``, ``conv2d``, ``conv3d``, ...).
        seed: seed of every random draw (initial topologies, SET regrowth);
            combined with the step so that all DDP ranks agree.
        report_depth: module-path depth of the per-layer groups logged to
            ESPnet's reporter (full per-tensor densities go to
            ``sparsity.jsonl``).
        add_penalty_to_loss: install the forward hook adding :meth:`penalty`
            to the model's loss.  Set ``False`` if your model adds it itself.
    """

    method_name: str = "abstract"
    uses_logits: bool = False
    supported_phases: Sequence[str] = ("dense",)

    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
    ):
        super().__init__()
        self.phase_list: List[Phase] = parse_phases(
            phases if phases is not None else self.default_phases(),
            self.supported_phases,
            self.phase_defaults(),
            self.method_name,
        )
        self.include = list(include) if include is not None else list(DEFAULT_INCLUDE)
        self.exclude = list(exclude) if exclude is not None else list(DEFAULT_EXCLUDE)
        self.module_types = (
            list(module_types) if module_types is not None else list(DEFAULT_MODULE_TYPES)
        )
        self.seed = int(seed)
        self.report_depth = int(report_depth)
        self.add_penalty_to_loss = bool(add_penalty_to_loss)
        self._s: Dict[str, Any] = {}
        for name in _INT_STATE:
            v = int(_STATE_DEFAULTS.get(name, 0))
            self.register_buffer(name, torch.tensor(v, dtype=torch.int64))
            self._s[name] = v
        for name in _FLOAT_STATE:
            v = float(_STATE_DEFAULTS.get(name, 0.0))
            self.register_buffer(name, torch.tensor(v, dtype=torch.float32))
            self._s[name] = v
        self.__dict__["_targets"] = []
        self.__dict__["_optimizers"] = []
        self.__dict__["_model"] = None
        self._handles: List[Any] = []
        self._penalty_enabled = True
        self._attached = False
        self._flips_in_epoch = 0
        self.events: List[Dict[str, Any]] = []
        self.register_load_state_dict_pre_hook(_sparsity_pre_hook)

    # ------------------------------------------------------------------
    # Method interface
    # ------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        """The phase list used when ``phases`` is not given."""

    def phase_defaults(self) -> Dict[str, Dict[str, Any]]:
        """Per-kind option defaults of this method (override :data:`BASE_DEFAULTS`)."""
        return {}

    @property
    def mask_scale(self) -> float:
        """Constant factor of the soft mask (1 unless the method normalises)."""
        return 1.0

    @property
    def soft_temperature(self) -> float:
        """The current soft temperature ``l`` (Python float, no device sync)."""
        return self._s["temperature"]

    def init_topology(self) -> Optional[List[torch.Tensor]]:
        """Initial binary masks when a sparse phase starts without a mask.

        Returns one ``uint8`` mask per target, or ``None`` to defer to the
        first optimizer step (:meth:`init_topology_from_grads`, e.g. SNIP).
        """
        raise ValueError(
            f"sparsity method '{self.method_name}' cannot enter a sparse/evolve phase "
            "without a mask: put a search or prune phase before it"
        )

    def init_topology_from_grads(self) -> List[torch.Tensor]:
        """Masks from the gradients of the first step (deferred initialisation)."""
        raise NotImplementedError

    def grow_scores(self, target: Target, step: int, index: int) -> torch.Tensor:
        """Scores of inactive connections for regrowth (``evolve`` phases).

        The default draws uniform random scores from a generator seeded by
        ``(seed, step, index)`` (SET).  RigL overrides with ``|dense grad|``.
        """
        g = torch.Generator()
        g.manual_seed(_mix_seed(self.seed, step, index))
        return torch.rand(target.parametrization.mask.shape, generator=g).to(
            target.original.device
        )

    @property
    def grows_by_gradient(self) -> bool:
        """Whether ``evolve`` updates need the dense gradient (RigL)."""
        return False

    def penalty(self) -> Optional[torch.Tensor]:
        """Scalar regulariser added to the training loss (``None``: no term)."""
        return None

    # ------------------------------------------------------------------
    # Attaching
    # ------------------------------------------------------------------
    @property
    def targets(self) -> List[Target]:
        """The masked tensors, in model order."""
        return self._targets

    @property
    def logit_parameters(self) -> List[torch.nn.Parameter]:
        """Mask logits (their own optimizer param group); empty for most baselines."""
        return [t.parametrization.logits for t in self._targets if t.parametrization.logits is not None]

    def mask_shape(self, target: Target) -> Sequence[int]:
        """Shape of the mask of ``target`` (element-wise by default)."""
        return target.shape

    def phi_init_for(self, target: Target) -> float:
        """Initial logit of ``target`` (search methods)."""
        return float(getattr(self, "phi_init", 0.0))

    def attach(self, model: torch.nn.Module) -> None:
        """Install masks on ``model`` and register as ``model.sparsity``.

        Raises:
            RuntimeError: when called twice or when ``model`` already has one.
        """
        import torch.nn.utils.parametrize as P

        if self._attached:
            raise RuntimeError("this sparsity object is already attached to a model")
        if getattr(model, "sparsity", None) is not None:
            raise RuntimeError("model already has a 'sparsity' attribute")
        targets = select_targets(model, self.include, self.exclude, self.module_types)
        for t in targets:
            par = MaskParametrization(
                tuple(self.mask_shape(t)),
                logits=self.uses_logits,
                phi_init=self.phi_init_for(t),
                controller=self,
            )
            w = getattr(t.module, t.tensor_name)
            par.to(w.device)
            P.register_parametrization(t.module, t.tensor_name, par)
            self._handles.append(t.module.register_load_state_dict_pre_hook(_owner_pre_hook))
        self.__dict__["_targets"] = targets
        self.__dict__["_model"] = model
        # Masks change only through deterministic updates followed by explicit
        # broadcasts: keep them out of DDP's per-forward buffer broadcast.
        ignore = list(getattr(model, "_ddp_params_and_buffers_to_ignore", []))
        for t in targets:
            prefix = f"{t.module_name}." if t.module_name else ""
            ignore.append(f"{prefix}parametrizations.{t.tensor_name}.0.mask")
        model._ddp_params_and_buffers_to_ignore = ignore
        dev = targets[0].original.device
        self.to(dev)
        model.add_module("sparsity", self)
        if self.add_penalty_to_loss:
            self._handles.append(model.register_forward_hook(self._forward_hook))
        self._handles.append(model.register_load_state_dict_post_hook(_model_post_hook))
        self._attached = True
        self._set("soft_scale", self.mask_scale)
        self._enter(0, previous=None, reason="start", next_epoch=False)
        logger.info(
            "sparsity '%s': %d targets, %d weights, phases %s",
            self.method_name,
            len(targets),
            self.num_target_weights,
            [p.kind for p in self.phase_list],
        )

    @property
    def num_target_weights(self) -> int:
        return sum(t.numel for t in self._targets)

    # ------------------------------------------------------------------
    # Optimizers
    # ------------------------------------------------------------------
    def register_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Hook ``optimizer``: mask gradients before, re-zero and schedule after each step."""
        if any(o is optimizer for o in self._optimizers):
            return
        ids = {id(t.original) for t in self._targets}
        holds = any(id(p) in ids for g in optimizer.param_groups for p in g["params"])
        self._optimizers.append(optimizer)
        if not holds:
            return
        primary = not any(getattr(o, "_msrs_primary", False) for o in self._optimizers[:-1])
        optimizer._msrs_primary = primary
        self._handles.append(optimizer.register_step_pre_hook(self._pre_step))
        self._handles.append(optimizer.register_step_post_hook(self._post_step))
        self._update_capture()

    # ------------------------------------------------------------------
    # State helpers
    # ------------------------------------------------------------------
    def _set(self, name: str, value) -> None:
        self._s[name] = type(self._s[name])(value)
        getattr(self, name).fill_(value)

    @property
    def current_phase(self) -> Phase:
        return self.phase_list[self._s["phase_index"]]

    @property
    def phase(self) -> str:
        """Kind of the current phase."""
        return self.current_phase.kind

    @property
    def steps(self) -> int:
        """Optimizer steps taken (Python mirror of the ``global_step`` buffer)."""
        return self._s["global_step"]

    def _mode(self) -> int:
        return _KIND_MODE[self.phase] if not (self.phase == "sparse" and self._s["pending_init"]) else DENSE

    def _later_search(self, index: int) -> bool:
        return any(p.kind == "search" for p in self.phase_list[index:])

    def _apply_modes(self) -> None:
        mode = self._mode()
        trainable = self._later_search(self._s["phase_index"])
        for t in self._targets:
            par = t.parametrization
            par.set_mode(mode)
            if par.logits is not None:
                par.logits.requires_grad_(trainable)

    # ------------------------------------------------------------------
    # Progress through the current phase
    # ------------------------------------------------------------------
    def _elapsed_epochs(self) -> float:
        s = self._s
        frac = 0.0
        if s["steps_per_epoch"] > 0:
            frac = min(1.0, (s["global_step"] - s["epoch_start_step"]) / s["steps_per_epoch"])
        return max(0.0, s["epoch"] - s["phase_start_epoch"] + frac)

    def _progress(self, phase: Phase, span: Optional[int] = None) -> float:
        """Fraction of ``phase`` done, in ``[0, 1]`` (0 when its length is unknown)."""
        s = self._s
        if phase.unit == "step":
            length = span if span is not None else (
                None if phase.end is None else phase.end - s["phase_start_step"]
            )
            if not length or length <= 0:
                return 0.0
            return min(1.0, (s["global_step"] - s["phase_start_step"]) / length)
        length = span if span is not None else (
            None if phase.end is None else phase.end - s["phase_start_epoch"] + 1
        )
        if not length or length <= 0:
            return 0.0
        return min(1.0, self._elapsed_epochs() / length)

    def _update_temperature(self, per_step: bool) -> None:
        phase = self.current_phase
        if phase.kind != "search":
            return
        t = phase.options["temperature"]
        if (t.get("per", "epoch") == "step") != per_step:
            return
        span = t.get("span")
        if per_step:
            p = self._progress(phase, span)
        else:  # per epoch: first epoch of the phase -> start, last -> end
            s = self._s
            if phase.unit == "epoch":
                length = span if span is not None else (
                    None if phase.end is None else phase.end - s["phase_start_epoch"] + 1
                )
                i = s["epoch"] - s["phase_start_epoch"]
                p = 0.0 if not length or length <= 1 else i / (length - 1)
            else:
                p = self._progress(phase, span)
        self._set("temperature", interpolate(float(t["start"]), float(t["end"]), p, t.get("schedule", "exponential")))

    # ------------------------------------------------------------------
    # Epoch hooks (called by MsrsTrainer)
    # ------------------------------------------------------------------
    def start_epoch(self, epoch: int, steps_hint: Optional[int] = None) -> None:
        """Call before training epoch ``epoch`` (1-based).

        Args:
            epoch: the epoch about to be trained.
            steps_hint: expected optimizer steps in this epoch, used for
                fractional-epoch progress until one epoch has been measured.
        """
        self._set("epoch", epoch)
        if self._s["steps_per_epoch"] <= 0 and steps_hint:
            self._set("steps_per_epoch", int(steps_hint))
        self._set("epoch_start_step", self._s["global_step"])
        self._flips_in_epoch = 0
        while True:
            ph = self.current_phase
            if (
                ph.unit == "epoch"
                and ph.end is not None
                and epoch > ph.end
                and self._s["phase_index"] + 1 < len(self.phase_list)
            ):
                self._transition(reason=f"end epoch {ph.end}", next_epoch=False)
            else:
                break
        self._update_temperature(per_step=False)
        self._update_capture()

    def end_epoch(self, epoch: int) -> Dict[str, Any]:
        """Call after training epoch ``epoch``; returns :meth:`epoch_record`.

        Runs epoch-window freeze tests, epoch-interval topology updates and
        epoch-unit phase ends.  The record describes the state the epoch
        trained with (before any transition done here).
        """
        s = self._s
        self._set("steps_per_epoch", s["global_step"] - s["epoch_start_step"])
        phase = self.current_phase
        n_in_phase = epoch - s["phase_start_epoch"] + 1
        transition = None
        if phase.kind == "search":
            f = phase.options.get("freeze")
            if f and f.get("window_unit", "epoch") == "epoch" and n_in_phase % int(f.get("window", 1)) == 0:
                if self._freeze_window_check(phase):
                    transition = "stable"
        elif phase.kind in ("prune", "evolve") and phase.options["interval_unit"] == "epoch":
            if n_in_phase % int(phase.options["interval"]) == 0:
                self._topology_update(phase)
        record = self.epoch_record(epoch)
        if transition is None and phase.unit == "epoch" and phase.end is not None and epoch >= phase.end:
            transition = f"end epoch {phase.end}"
        if transition is not None and s["phase_index"] + 1 < len(self.phase_list):
            self._transition(reason=transition, next_epoch=True)
        return record

    # ------------------------------------------------------------------
    # Step hooks
    # ------------------------------------------------------------------
    def _pre_step(self, optimizer, args, kwargs) -> None:
        if not getattr(optimizer, "_msrs_primary", False):
            return
        if self._s["pending_init"]:
            masks = self.init_topology_from_grads()
            self._sync_tensors(masks)
            self._set("pending_init", 0)
            self._install_masks(masks)
            self._apply_modes()
            self.events.append(self._event("init", reason="first-step gradients"))
        if self._mode() == FIXED:
            with torch.no_grad():
                for t in self._targets:
                    g = t.original.grad
                    if g is not None:
                        g.mul_(t.parametrization.float_mask(g.dtype))

    @torch.no_grad()
    def _post_step(self, optimizer, args, kwargs) -> None:
        if not getattr(optimizer, "_msrs_primary", False):
            return
        s = self._s
        self._set("global_step", s["global_step"] + 1)
        if self._mode() == FIXED:
            for t in self._targets:
                w = t.original
                w.mul_(t.parametrization.float_mask(w.dtype))
        phase = self.current_phase
        done = s["global_step"] - s["phase_start_step"]
        transition = None
        if phase.kind == "search":
            self._update_temperature(per_step=True)
            f = phase.options.get("freeze")
            if f and f.get("window_unit") == "step" and done % int(f.get("window", 1)) == 0:
                if self._freeze_window_check(phase):
                    transition = "stable"
        elif phase.kind in ("prune", "evolve") and phase.options["interval_unit"] == "step":
            if done % int(phase.options["interval"]) == 0:
                self._topology_update(phase)
        if transition is None and phase.unit == "step" and phase.end is not None and s["global_step"] >= phase.end:
            transition = f"end step {phase.end}"
        if transition is not None and s["phase_index"] + 1 < len(self.phase_list):
            self._transition(reason=transition, next_epoch=False)
        self._update_capture()

    def _update_capture(self) -> None:
        """Turn dense-gradient capture on for the step that will update RigL."""
        phase = self.current_phase
        on = False
        if (
            self.grows_by_gradient
            and phase.kind == "evolve"
            and phase.options["interval_unit"] == "step"
        ):
            done = self._s["global_step"] - self._s["phase_start_step"]
            on = (done + 1) % int(phase.options["interval"]) == 0
        for t in self._targets:
            par = t.parametrization
            if par._capture_grad != on or (not on and par.dense_grad is not None):
                par.capture_dense_grad(on)

    # ------------------------------------------------------------------
    # Transitions
    # ------------------------------------------------------------------
    def _transition(self, reason: str, next_epoch: bool) -> None:
        old = self.current_phase
        self._leave(old, self.phase_list[old.index + 1], reason)
        self._enter(old.index + 1, previous=old, reason=reason, next_epoch=next_epoch)

    @torch.no_grad()
    def _leave(self, old: Phase, new: Phase, reason: str) -> None:
        if old.kind == "search" and new.kind != "search":
            self._freeze(old, reason)
        elif old.kind == "prune":
            self._topology_update(old, progress=1.0)

    @torch.no_grad()
    def _enter(self, index: int, previous: Optional[Phase], reason: str, next_epoch: bool) -> None:
        s = self._s
        new = self.phase_list[index]
        self._set("phase_index", index)
        self._set("phase_start_epoch", s["epoch"] + 1 if next_epoch else max(s["epoch"], 1))
        self._set("phase_start_step", s["global_step"])
        self._set("stable_windows", 0)
        if new.kind == "search":
            if previous is not None and previous.kind == "search" and new.options.get("round_reset"):
                for t in self._targets:
                    t.parametrization.logits.clamp_(max=self.phi_init_for(t))
            t = new.options["temperature"]
            self._set("temperature", float(t["start"]))
            self._snapshot_hard(new)
        elif new.kind == "dense":
            if previous is not None and previous.kind != "dense" and s["has_mask"]:
                if new.options.get("pruned_init", "zero") == "zero":
                    for t in self._targets:
                        self._zero_pruned(t, t.parametrization.mask)
        elif new.kind in ("sparse", "evolve"):
            if not s["has_mask"]:
                masks = self.init_topology()
                if masks is None:
                    self._set("pending_init", 1)
                else:
                    self._sync_tensors(masks)
                    self._install_masks(masks)
                    self.events.append(self._event("init", reason=reason))
        elif new.kind == "prune":
            if not s["has_mask"]:
                self._install_masks([torch.ones_like(t.parametrization.mask) for t in self._targets])
            if float(new.options["initial_density"]) < 1.0:
                self._prune_update(new, 0.0)  # jump to the initial density at once
        self._apply_modes()
        if new.kind in ("sparse", "evolve", "prune") and s["has_mask"]:
            for t in self._targets:
                self._zero_pruned(t, t.parametrization.mask)
        if previous is not None:
            self.events.append(self._event("phase", reason=reason, **{"from": previous.kind, "to": new.kind}))
            logger.info(
                "sparsity: phase %d '%s' -> %d '%s' (%s) at epoch %d step %d, density %.4f",
                previous.index, previous.kind, index, new.kind, reason, s["epoch"], s["global_step"],
                self.global_density(),
            )
        self._update_capture()

    def _install_masks(self, masks: Sequence[torch.Tensor]) -> None:
        for t, m in zip(self._targets, masks):
            par = t.parametrization
            par.mask.copy_(m.to(par.mask.device, torch.uint8).view(par.mask.shape))
        self._set("has_mask", 1)

    def _zero_pruned(self, target: Target, mask: torch.Tensor) -> None:
        """Zero pruned weights and their optimizer state (moments, buffers)."""
        w = target.original
        m = mask.to(w.dtype)
        w.data.mul_(m)
        for opt in self._optimizers:
            st = opt.state.get(w)
            if not st:
                continue
            for v in st.values():
                if torch.is_tensor(v) and v.shape == w.shape:
                    v.mul_(m.to(v.dtype))

    def _scale_state(self, target: Target, factor: float) -> None:
        w = target.original
        for opt in self._optimizers:
            st = opt.state.get(w)
            if not st:
                continue
            for k, v in st.items():
                if torch.is_tensor(v) and v.shape == w.shape:
                    v.mul_(factor ** 2 if k.endswith("_sq") else factor)

    # ------------------------------------------------------------------
    # Search: hard decisions, flip windows, freezing
    # ------------------------------------------------------------------
    @torch.no_grad()
    def hard_masks(self, phase: Optional[Phase] = None) -> List[torch.Tensor]:
        """The hard decision of the search (the ``l -> infinity`` limit).

        ``phi > threshold``, or the top-``density`` logits (globally or per
        layer) when the search phase sets ``density``.
        """
        phase = phase or self.current_phase
        o = phase.options if phase.kind == "search" else {}
        logits = [t.parametrization.logits for t in self._targets]
        density = o.get("density")
        if density is None:
            thr = float(o.get("threshold", 0.0))
            return [(p > thr).to(torch.uint8) for p in logits]
        fan = [t.numel // p.numel() for t, p in zip(self._targets, logits)]
        if o.get("density_scope", "global") == "layer":
            return [topology.topk_mask(p, round(float(density) * p.numel())) for p in logits]
        if len(set(fan)) == 1:
            k = round(float(density) * sum(p.numel() for p in logits))
            return topology.global_topk_masks(logits, k)
        # per-channel logits of unequal fan-in: rank by logit, count weights
        return self._weighted_global_topk(logits, fan, float(density))

    @staticmethod
    def _weighted_global_topk(scores, weights, density):
        """Global top-k over per-channel scores whose entries count ``weights`` weights."""
        flat = torch.cat([s.reshape(-1).float() for s in scores])
        w = torch.cat(
            [torch.full((s.numel(),), float(f), device=flat.device) for s, f in zip(scores, weights)]
        )
        order = torch.argsort(flat, descending=True)
        cum = torch.cumsum(w[order], 0)
        budget = density * float(w.sum())
        keep = int((cum <= budget + 1e-6).sum().item())
        if keep < len(order) and abs(float(cum[keep]) - budget) < abs(budget - (float(cum[keep - 1]) if keep else 0.0)):
            keep += 1  # one more channel lands closer to the budget
        mask = torch.zeros_like(flat, dtype=torch.uint8)
        mask[order[:keep]] = 1
        out, off = [], 0
        for s in scores:
            out.append(mask[off : off + s.numel()].view(s.shape))
            off += s.numel()
        return out

    def _snapshot_hard(self, phase: Phase) -> None:
        for t, h in zip(self._targets, self.hard_masks(phase)):
            t.parametrization.mask.copy_(h)

    def _freeze_window_check(self, phase: Phase) -> bool:
        f = phase.options["freeze"]
        flips = 0
        with torch.no_grad():
            hard = self.hard_masks(phase)
            counts = [(h != t.parametrization.mask).sum() for t, h in zip(self._targets, hard)]
            for t, h in zip(self._targets, hard):
                t.parametrization.mask.copy_(h)
            flips = int(torch.stack(counts).sum().item())
        total = sum(t.parametrization.mask.numel() for t in self._targets)
        rate = flips / max(total, 1)
        self._flips_in_epoch += flips
        self._set("flip_rate", rate)
        if rate < float(f.get("epsilon", 0.0)):
            self._set("stable_windows", self._s["stable_windows"] + 1)
        else:
            self._set("stable_windows", 0)
        return self._s["stable_windows"] >= int(f.get("patience", 1))

    @torch.no_grad()
    def _freeze(self, phase: Phase, reason: str) -> None:
        hard = self.hard_masks(phase)
        self._sync_tensors(hard)
        for t, h in zip(self._targets, hard):
            self._flips_in_epoch += int((h != t.parametrization.mask).sum().item())
        self._install_masks(hard)
        scale = self.mask_scale
        if scale != 1.0 and getattr(self, "fold_scale", True):
            for t, h in zip(self._targets, hard):
                # kept weights absorb the soft-mask scale; pruned ones keep their value
                t.original.data.mul_(h.float().mul_(scale - 1.0).add_(1.0))
                self._scale_state(t, 1.0 / scale)
        density = self.global_density(masks=hard)
        self._set("freeze_epoch", self._s["epoch"])
        self._set("freeze_step", self._s["global_step"])
        self._set("freeze_density", density)
        self.events.append(
            self._event("freeze", reason=reason, density=density, layers=self.layer_densities(masks=hard))
        )
        logger.info(
            "sparsity: mask frozen (%s) at epoch %d step %d, density %.4f",
            reason, self._s["epoch"], self._s["global_step"], density,
        )

    # ------------------------------------------------------------------
    # prune / evolve topology updates
    # ------------------------------------------------------------------
    def _target_densities(self, density: float, distribution: str) -> List[float]:
        return _distribution_densities([t.shape for t in self._targets], density, distribution)

    @torch.no_grad()
    def _topology_update(self, phase: Phase, progress: Optional[float] = None) -> None:
        p = self._progress(phase) if progress is None else progress
        if phase.kind == "prune":
            self._prune_update(phase, p)
        else:
            self._evolve_update(phase, p)
        self._apply_modes()

    def _prune_update(self, phase: Phase, p: float) -> None:
        o = phase.options
        final = o.get("final_density")
        if final is None:
            final = getattr(self, "density", None)
        if final is None:
            raise ValueError(f"sparsity_conf.phases[{phase.index}]: prune needs final_density")
        initial = float(o["initial_density"])
        scores = []
        for t in self._targets:
            m = t.parametrization.mask
            sc = t.original.detach().abs().float().clone()
            sc[m == 0] = -1.0  # pruned stay pruned
            scores.append(sc)
        if o["scope"] == "global":
            d = cubic_density(initial, float(final), p)
            new = topology.global_topk_masks(scores, round(d * sum(s.numel() for s in scores)))
        else:
            finals = self._target_densities(float(final), getattr(self, "distribution", "uniform"))
            new = [
                topology.topk_mask(sc, round(cubic_density(initial, f, p) * sc.numel()))
                for sc, f in zip(scores, finals)
            ]
        self._sync_tensors(new)
        for t, m in zip(self._targets, new):
            self._flips_in_epoch += int((m != t.parametrization.mask).sum().item())
        self._install_masks(new)
        for t in self._targets:
            self._zero_pruned(t, t.parametrization.mask)

    def _evolve_update(self, phase: Phase, p: float) -> None:
        o = phase.options
        frac = decayed_fraction(float(o["drop_fraction"]), p, o["decay"])
        step = self._s["global_step"]
        grads = None
        if self.grows_by_gradient:
            grads = [t.parametrization.dense_grad for t in self._targets]
            if any(g is None for g in grads):
                logger.warning("sparsity: no dense gradient captured at step %d; RigL update skipped", step)
                return
            self._allreduce(grads)
            if not all(bool(torch.isfinite(g).all()) for g in grads):
                logger.warning("sparsity: non-finite gradient at step %d; RigL update skipped", step)
                return
        new_masks = []
        for i, t in enumerate(self._targets):
            m = t.parametrization.mask
            active = m.bool()
            n_active = int(active.sum().item())
            k = int(round(frac * n_active))
            k = min(k, m.numel() - n_active)
            if k <= 0:
                new_masks.append(m.clone())
                continue
            keep_sc = t.original.detach().abs().float().clone()
            keep_sc[~active] = -1.0
            kept = topology.topk_mask(keep_sc, n_active - k)
            if grads is not None:
                grow_sc = grads[i].abs().view(m.shape).clone()
            else:
                grow_sc = self.grow_scores(t, step, i).float()
            grow_sc[active] = -math.inf  # regrow among previously inactive connections
            grown = topology.topk_mask(grow_sc, k)
            new_masks.append(kept | grown)
        self._sync_tensors(new_masks)
        for t, m in zip(self._targets, new_masks):
            old = t.parametrization.mask
            self._flips_in_epoch += int((m != old).sum().item())
            keep = old & m  # unchanged active connections keep weights and state
            self._zero_pruned(t, keep)  # dropped -> 0, grown start at 0 with fresh state
            old.copy_(m)

    # ------------------------------------------------------------------
    # Distributed helpers
    # ------------------------------------------------------------------
    @staticmethod
    def _dist() -> bool:
        return (
            torch.distributed.is_available()
            and torch.distributed.is_initialized()
            and torch.distributed.get_world_size() > 1
        )

    def _sync_tensors(self, tensors: Sequence[torch.Tensor]) -> None:
        """Broadcast new masks from rank 0 (they are computed identically anyway)."""
        if self._dist():
            for x in tensors:
                torch.distributed.broadcast(x, src=0)

    def _allreduce(self, tensors: Sequence[torch.Tensor]) -> None:
        if self._dist():
            for x in tensors:
                torch.distributed.all_reduce(x)

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    @torch.no_grad()
    def _active_counts(self, masks: Optional[Sequence[torch.Tensor]] = None) -> List[float]:
        mode = self._mode()
        if masks is None:
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

    def group_densities(self) -> Dict[str, float]:
        """Densities aggregated per module group (see ``report_depth``)."""
        counts = self._active_counts()
        num: Dict[str, float] = {}
        den: Dict[str, float] = {}
        for t, c in zip(self._targets, counts):
            g = layer_group(t.name, self.report_depth)
            num[g] = num.get(g, 0.0) + c
            den[g] = den.get(g, 0.0) + t.numel
        return {g: num[g] / den[g] for g in num}

    def epoch_stats(self) -> Dict[str, float]:
        """Per-epoch scalars for ESPnet's reporter (keys are new reporter keys)."""
        out = {
            "sparsity_density": self.global_density(),
            "sparsity_phase": float(self._s["phase_index"]),
            "sparsity_flip_rate": self._epoch_flip_rate(),
        }
        if self.phase == "search":
            out["sparsity_temperature"] = self._s["temperature"]
        for g, d in self.group_densities().items():
            out[f"density/{g}"] = d
        return out

    def _epoch_flip_rate(self) -> float:
        if self.phase == "search":
            r = self._s["flip_rate"]
            return float("nan") if r < 0 else r
        return self._flips_in_epoch / max(self.num_target_weights, 1)

    def epoch_record(self, epoch: int) -> Dict[str, Any]:
        """The ``sparsity.jsonl`` line for ``epoch`` (docs/architecture.md)."""
        with torch.no_grad():
            pen = self.penalty()
        return {
            "epoch": int(epoch),
            "step": self._s["global_step"],
            "phase": self.phase,
            "phase_index": self._s["phase_index"],
            "temperature": self._s["temperature"] if self.phase == "search" else None,
            "global_density": self.global_density(),
            "flip_rate": _nan_to_none(self._epoch_flip_rate()),
            "penalty": None if pen is None else float(pen.detach()),
            "layers": self.layer_densities(),
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

    # ------------------------------------------------------------------
    # Loss hook
    # ------------------------------------------------------------------
    class _NoPenalty:
        def __init__(self, owner):
            self.owner = owner

        def __enter__(self):
            self.prev = self.owner._penalty_enabled
            self.owner._penalty_enabled = False

        def __exit__(self, *exc):
            self.owner._penalty_enabled = self.prev

    def penalty_disabled(self):
        """Context manager: the forward hook adds no penalty (gradient probes)."""
        return AbsSparsity._NoPenalty(self)

    def _forward_hook(self, module, args, output):
        if not self._penalty_enabled:
            return None
        if isinstance(output, dict) and "loss" in output and isinstance(output.get("stats"), dict):
            loss, stats = output["loss"], output["stats"]
        elif isinstance(output, (tuple, list)) and len(output) == 3 and isinstance(output[1], dict):
            loss, stats = output[0], output[1]
        else:
            return None
        if module.training:
            pen = self.penalty()
        else:
            with torch.no_grad():
                pen = self.penalty()
        stats = dict(stats)
        # ESPnet's force_gatherable makes every stat 1-d (shape of ``weight``);
        # DDP's recursive_average asserts equal shapes, so match it
        weight = output.get("weight") if isinstance(output, dict) else output[2]
        shape = weight.shape if torch.is_tensor(weight) else ()
        value = torch.zeros((), device=loss.device) if pen is None else pen.detach().float()
        stats["sparsity_penalty"] = value.reshape(()).expand(shape).clone().to(loss.device)
        if pen is not None:
            if module.training:
                # .to(): under DataParallel the replicas' losses live on other devices
                loss = loss + pen.to(device=loss.device, dtype=loss.dtype)
                if stats.get("loss") is not None:
                    stats["loss"] = stats["loss"] + pen.detach().to(stats["loss"].device, stats["loss"].dtype)
        if isinstance(output, dict):
            out = dict(output)
            out["loss"], out["stats"] = loss, stats
            return out
        return (loss, stats, output[2])

    # ------------------------------------------------------------------
    # Load hooks
    # ------------------------------------------------------------------
    def _after_load(self) -> None:
        for name in _INT_STATE:
            self._s[name] = int(getattr(self, name).item())
        for name in _FLOAT_STATE:
            self._s[name] = float(getattr(self, name).item())
        if not 0 <= self._s["phase_index"] < len(self.phase_list):
            raise ValueError(
                f"sparsity: checkpoint phase index {self._s['phase_index']} does not exist in "
                f"the configured phase list ({len(self.phase_list)} phases)"
            )
        self._apply_modes()
        self._update_capture()

    def extra_repr(self) -> str:
        return f"method={self.method_name}, phases={[p.kind for p in self.phase_list]}"


def _nan_to_none(x: float) -> Optional[float]:
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or x < 0)) else x


def _mix_seed(*xs: int) -> int:
    h = 1469598103934665603
    for x in xs:
        h = ((h ^ (int(x) & 0xFFFFFFFFFFFF)) * 1099511628211) & 0x7FFFFFFFFFFFFFFF
    return h


def _sparsity_pre_hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    """Restore counters summed by ESPnet's averaging; accept dense checkpoints."""
    own = [prefix + n for n in _INT_STATE + _FLOAT_STATE]
    if not any(k in state_dict for k in own):
        # a state dict without sparsity state (e.g. a dense checkpoint): keep ours
        for n in _INT_STATE + _FLOAT_STATE:
            state_dict[prefix + n] = getattr(module, n).detach().clone()
        return
    key = prefix + "checkpoint_count"
    if key in state_dict:
        n = int(round(float(state_dict[key])))
        if n > 1:
            for name in _INT_STATE:
                k = prefix + name
                if k in state_dict and torch.is_tensor(state_dict[k]):
                    v = state_dict[k].double() / n
                    state_dict[k] = torch.round(v).to(torch.int64)
            state_dict[key] = torch.tensor(1, dtype=torch.int64)


def _owner_pre_hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    """Map dense keys onto the parametrization; re-binarise averaged masks."""
    if not hasattr(module, "parametrizations"):
        return
    for tname, plist in module.parametrizations.items():
        plain = prefix + tname
        orig = f"{prefix}parametrizations.{tname}.original"
        if plain in state_dict:
            state_dict[orig] = state_dict.pop(plain)
        ppref = f"{prefix}parametrizations.{tname}.0."
        par = plist[0]
        own = {ppref + k: v for k, v in par.state_dict(keep_vars=False).items()}
        if not any(k in state_dict for k in own):
            for k, v in own.items():
                state_dict[k] = v.detach().clone()
            continue
        mk = ppref + "mask"
        if mk in state_dict and torch.is_tensor(state_dict[mk]):
            m = state_dict[mk]
            if m.is_floating_point():
                state_dict[mk] = topology.binarize_fraction(m)
            elif m.dtype != torch.uint8:
                state_dict[mk] = (m != 0).to(torch.uint8)


def _model_post_hook(model, incompatible_keys) -> None:
    sp = getattr(model, "sparsity", None)
    if isinstance(sp, AbsSparsity):
        sp._after_load()

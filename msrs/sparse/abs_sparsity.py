"""Abstract base of every sparsity method (MSRS and the baselines).

An :class:`AbsSparsity` is one ``torch.nn.Module`` per model.  ``attach(model)``

1. selects the target weights (:mod:`msrs.sparse.targets`),
2. registers a :class:`~msrs.sparse.masks.MaskParametrization` on each (kept in
   every phase, so ``state_dict`` keys never change),
3. registers itself as ``model.sparsity``: its buffers (phase index, step and
   epoch counters, temperature, freeze record, ...) are checkpointed with the
   model (:mod:`msrs.sparse.state`),
4. installs a forward hook reporting the penalty in ESPnet's ``stats``
   (:mod:`msrs.sparse.loss_hook`), and
5. installs the load hooks of :mod:`msrs.sparse.state`.

The object is composed of one mixin per concern, each in its own file: scalar
state (:mod:`~msrs.sparse.state`), the phase scheduler
(:mod:`~msrs.sparse.scheduler`), optimizer hooks
(:mod:`~msrs.sparse.optim_hooks`), the loss hook and statistics
(:mod:`~msrs.sparse.stats`).  What each phase does lives in its kind
(:mod:`msrs.sparse.phase_kinds`).  A method is a short composition: its
options (:mod:`msrs.sparse.options`), default phase plan, initial topology,
drop and grow rules, and penalty.
"""

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Sequence

import torch

from msrs.sparse import topology
from msrs.sparse.loss_hook import LossHookMixin
from msrs.sparse.masks import FIXED, MaskParametrization
from msrs.sparse.optim_hooks import OptimHooksMixin
from msrs.sparse.options import resolve_options, signature_of
from msrs.sparse.phases import Phase, parse_phases
from msrs.sparse.scheduler import SchedulerMixin
from msrs.sparse.state import StateMixin, model_load_pre_hook, owner_load_pre_hook
from msrs.sparse.stats import StatsMixin
from msrs.sparse.targets import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    DEFAULT_MODULE_TYPES,
    Target,
    select_targets,
)


class AbsSparsity(
    StateMixin, SchedulerMixin, OptimHooksMixin, LossHookMixin, StatsMixin, torch.nn.Module, ABC
):
    """One object per model; owns the masks, their schedule and their state.

    Options (``sparsity_conf`` keys common to every method):
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
        add_penalty_to_loss: apply the penalty's gradient in the optimizer
            pre-step hook.  Set ``False`` if your loop adds :meth:`penalty`
            to its loss itself.
    """

    method_name: str = "abstract"
    uses_logits: bool = False
    supported_phases: Sequence[str] = ("dense",)
    options: Dict[str, Any] = {
        "phases": None,
        "include": None,
        "exclude": None,
        "module_types": None,
        "seed": 0,
        "report_depth": 3,
        "add_penalty_to_loss": True,
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__signature__ = signature_of(cls)

    def __init__(self, **conf):
        opts = resolve_options(type(self), conf)
        super().__init__()
        self.configure(opts)
        self.phase_list: List[Phase] = parse_phases(
            opts["phases"] if opts["phases"] is not None else self.default_phases(),
            self.supported_phases,
            self.phase_defaults(),
            self.method_name,
        )
        self.check()
        self._init_state()
        self.__dict__["_targets"] = []
        self.__dict__["_optimizers"] = []
        self.__dict__["_model"] = None
        self._handles: List[Any] = []
        self._penalty_enabled = True
        self._last_penalty = 0.0
        self._attached = False
        self._flips_in_epoch = 0
        self.events: List[Dict[str, Any]] = []

    def configure(self, opts: Dict[str, Any]) -> None:
        """Store the resolved options (subclasses extend, calling ``super``)."""
        self.include = list(opts["include"]) if opts["include"] is not None else list(DEFAULT_INCLUDE)
        self.exclude = list(opts["exclude"]) if opts["exclude"] is not None else list(DEFAULT_EXCLUDE)
        mt = opts["module_types"]
        self.module_types = list(mt) if mt is not None else list(DEFAULT_MODULE_TYPES)
        self.seed = int(opts["seed"])
        self.report_depth = int(opts["report_depth"])
        self.add_penalty_to_loss = bool(opts["add_penalty_to_loss"])

    def check(self) -> None:
        """Cross-option checks once the phase list is parsed (subclasses extend)."""

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

    def layer_target_densities(self, density: float) -> List[float]:
        """Per-target densities for a global ``density`` (uniform unless the method distributes)."""
        return [float(density)] * len(self._targets)

    def drop_rule(self, target: Target, active: torch.Tensor, n_keep: int) -> torch.Tensor:
        """Connections kept by an ``evolve`` drop: the ``n_keep`` largest ``|w|`` among ``active``."""
        score = target.original.detach().abs().float().clone()
        score[~active] = -1.0
        return topology.topk_mask(score, n_keep)

    def grow_scores(self, target: Target, step: int, index: int) -> torch.Tensor:
        """Scores of connections for regrowth (``evolve``); the top ones not kept are grown.

        The default draws uniform random scores from a generator seeded by
        ``(seed, step, index)`` (SET).  RigL overrides with ``|dense grad|``.
        """
        g = torch.Generator()
        g.manual_seed(topology.mix_seed(self.seed, step, index))
        return torch.rand(target.parametrization.mask.shape, generator=g).to(target.original.device)

    @property
    def grows_by_gradient(self) -> bool:
        """Whether ``evolve`` updates need the dense gradient (RigL)."""
        return False

    def penalty(self) -> Optional[torch.Tensor]:
        """Scalar regulariser (``None``: no term); see :mod:`msrs.sparse.penalties`."""
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

    @property
    def num_target_weights(self) -> int:
        return sum(t.numel for t in self._targets)

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
                tuple(self.mask_shape(t)), logits=self.uses_logits, phi_init=self.phi_init_for(t), controller=self
            )
            par.to(getattr(t.module, t.tensor_name).device)
            P.register_parametrization(t.module, t.tensor_name, par)
            self._handles.append(t.module.register_load_state_dict_pre_hook(owner_load_pre_hook))
        self.__dict__["_targets"] = targets
        self.__dict__["_model"] = model
        # Masks change only through deterministic updates followed by explicit
        # broadcasts: keep them out of DDP's per-forward buffer broadcast.
        ignore = list(getattr(model, "_ddp_params_and_buffers_to_ignore", []))
        for t in targets:
            prefix = f"{t.module_name}." if t.module_name else ""
            ignore.append(f"{prefix}parametrizations.{t.tensor_name}.0.mask")
        model._ddp_params_and_buffers_to_ignore = ignore
        self.to(targets[0].original.device)
        model.add_module("sparsity", self)
        self._handles.append(model.register_forward_hook(self._forward_hook))
        self._handles.append(model.register_load_state_dict_pre_hook(model_load_pre_hook(self)))
        self._handles.append(model.register_load_state_dict_post_hook(_model_post_hook))
        self._attached = True
        self._set("soft_scale", self.mask_scale)
        self._enter(0, previous=None, reason="start", next_epoch=False)
        self.log_info(
            "'%s': %d targets, %d weights, phases %s",
            self.method_name, len(targets), self.num_target_weights, [p.kind for p in self.phase_list],
        )

    # ------------------------------------------------------------------
    # Masks
    # ------------------------------------------------------------------
    def hard_masks(self, phase: Optional[Phase] = None) -> List[torch.Tensor]:
        """The hard decision of a search phase (``phi > threshold`` or top-``density``)."""
        from msrs.sparse.phase_kinds.search import hard_masks

        return hard_masks(self, phase or self.current_phase)

    def _install_masks(self, masks: Sequence[torch.Tensor]) -> None:
        for t, m in zip(self._targets, masks):
            par = t.parametrization
            par.mask.copy_(m.to(par.mask.device, torch.uint8).view(par.mask.shape))
        self._set("has_mask", 1)

    def release(self, masks: bool) -> None:
        """Free the logits (and, with ``masks``, the mask buffers) once no phase needs them."""
        for t in self._targets:
            if t.parametrization.logits is not None:
                self._drop_state(t.parametrization.logits)
            t.parametrization.release(logits=True, mask=masks)
        self._set("released", 1)

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

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    def _after_load(self) -> None:
        self._refresh_mirror()
        if not 0 <= self._s["phase_index"] < len(self.phase_list):
            raise ValueError(
                f"sparsity: checkpoint phase index {self._s['phase_index']} does not exist in "
                f"the configured phase list ({len(self.phase_list)} phases)"
            )
        self._apply_modes()
        if self._mode() == FIXED and self._s["has_mask"]:  # the forward relies on exact zeros
            for t in self._targets:
                self._zero_pruned(t, t.parametrization.mask)

    def extra_repr(self) -> str:
        return f"method={self.method_name}, phases={[p.kind for p in self.phase_list]}"


AbsSparsity.__signature__ = signature_of(AbsSparsity)


def _model_post_hook(model, incompatible_keys) -> None:
    sp = getattr(model, "sparsity", None)
    if isinstance(sp, AbsSparsity):
        sp._after_load()

"""Selection of the parameters that get masks.

A target is a weight of a module of one of ``module_types`` whose full
parameter name (as in ``model.named_parameters()``, e.g.
``encoder.encoders.0.feed_forward.w_1.weight``) fully matches one ``include``
regex and no ``exclude`` regex (:func:`re.fullmatch`).

Defaults (our choice; the MSRS paper does not say which layers are masked):
the weight matrices / kernels of ``Linear`` and ``Conv1d/2d/3d`` layers
anywhere in the model (frontends, encoder, decoder), except the output layers
(ESPnet's ``ctc.ctc_lo`` and ``decoder.output_layer``).  Biases, norms and
embeddings are never selected because they are not weights of those module
types.
"""

import dataclasses
import re
from typing import Dict, List, Sequence, Tuple, Type

import torch

MODULE_TYPES: Dict[str, Tuple[Type[torch.nn.Module], ...]] = {
    "linear": (torch.nn.Linear,),
    "conv1d": (torch.nn.Conv1d,),
    "conv2d": (torch.nn.Conv2d,),
    "conv3d": (torch.nn.Conv3d,),
    "conv_transpose1d": (torch.nn.ConvTranspose1d,),
    "conv_transpose2d": (torch.nn.ConvTranspose2d,),
    "embedding": (torch.nn.Embedding,),
}

DEFAULT_INCLUDE: List[str] = [r".*\.weight"]
DEFAULT_EXCLUDE: List[str] = [r"(.*\.)?ctc\..*", r"(.*\.)?output_layer\..*", r"(.*\.)?sparsity\..*"]
DEFAULT_MODULE_TYPES: List[str] = ["linear", "conv1d", "conv2d", "conv3d"]


@dataclasses.dataclass
class Target:
    """One masked tensor.

    Attributes:
        name: full parameter name before masking, e.g. ``"encoder.x.weight"``.
        module_name: name of the owning module, e.g. ``"encoder.x"``.
        tensor_name: attribute on the module, ``"weight"``.
        module: the owning module.
        shape: shape of the weight.
    """

    name: str
    module_name: str
    tensor_name: str
    module: torch.nn.Module
    shape: Tuple[int, ...]

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def parametrization(self):
        """The :class:`~msrs.sparse.masks.MaskParametrization` (after attach)."""
        return getattr(self.module.parametrizations, self.tensor_name)[0]

    @property
    def original(self) -> torch.nn.Parameter:
        """The stored (unmasked) weight parameter (after attach)."""
        return getattr(self.module.parametrizations, self.tensor_name).original


def _compile(patterns: Sequence[str], option: str) -> List[re.Pattern]:
    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(p))
        except re.error as e:
            raise ValueError(f"sparsity_conf {option}: invalid regex {p!r}: {e}") from e
    return compiled


def select_targets(
    model: torch.nn.Module,
    include: Sequence[str] = tuple(DEFAULT_INCLUDE),
    exclude: Sequence[str] = tuple(DEFAULT_EXCLUDE),
    module_types: Sequence[str] = tuple(DEFAULT_MODULE_TYPES),
) -> List[Target]:
    """Return the targets of ``model`` in ``named_modules`` order.

    Args:
        model: any module.
        include: regexes; a parameter is a candidate if one fully matches.
        exclude: regexes; a candidate is dropped if one fully matches.
        module_types: keys of :data:`MODULE_TYPES`.

    Raises:
        ValueError: unknown module type, invalid regex, or nothing selected.
    """
    types: Tuple[Type[torch.nn.Module], ...] = ()
    for t in module_types:
        if t.lower() not in MODULE_TYPES:
            raise ValueError(
                f"sparsity_conf module_types: unknown type {t!r}; "
                f"choose from {sorted(MODULE_TYPES)}"
            )
        types += MODULE_TYPES[t.lower()]
    inc = _compile(include, "include")
    exc = _compile(exclude, "exclude")
    targets: List[Target] = []
    seen = set()
    for mname, module in model.named_modules():
        if not isinstance(module, types):
            continue
        pname = "weight"
        w = getattr(module, pname, None)
        if not isinstance(w, torch.Tensor) or id(module) in seen:
            continue
        full = f"{mname}.{pname}" if mname else pname
        if not any(p.fullmatch(full) for p in inc):
            continue
        if any(p.fullmatch(full) for p in exc):
            continue
        seen.add(id(module))
        targets.append(Target(full, mname, pname, module, tuple(w.shape)))
    if not targets:
        raise ValueError(
            "sparsity: no parameter matches the targets "
            f"(include={list(include)}, exclude={list(exclude)}, "
            f"module_types={list(module_types)})"
        )
    return targets


def layer_group(name: str, depth: int = 3) -> str:
    """Group key used for per-layer curves in ESPnet's reporter.

    ``encoder.encoders.3.feed_forward.w_1.weight`` -> ``encoder.encoders.3``
    for ``depth=3`` (the module path, cut after ``depth`` components).
    """
    parts = name.split(".")[:-1]
    return ".".join(parts[:depth]) if parts else name

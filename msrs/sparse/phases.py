"""The phase grammar shared by every sparsity method.

``sparsity_conf.phases`` is a list run in order; each item is a dict::

    {name: <kind>, end: <int or null>, unit: epoch|step, start: <int, optional>, ...}

* ``name`` -- the phase kind:

  ``dense``   no mask (effective weight = stored weight).
              ``pruned_init: zero|keep`` -- when entered from a masked phase,
              pruned weights restart from 0 (default) or keep their stored values.
  ``search``  learned soft mask ``sigmoid(l * phi)`` (MSRS, Continuous
              Sparsification).  Leaving it *freezes* the mask: the hard decision
              ``phi > threshold`` (or the top-``density`` logits) becomes the
              binary mask.  Options: ``temperature`` {start, end, schedule, per,
              span}, ``freeze`` {epsilon, patience, window, window_unit,
              min_change} (null: only at ``end``; see
              :mod:`msrs.sparse.phase_kinds.search` for the freeze rule), ``threshold``, ``density``, ``density_scope``
              (global|layer), ``round_reset`` (Continuous Sparsification rounds:
              on entering from another search phase, ``phi <- min(phi, phi_init)``).
  ``sparse``  fixed binary mask; pruned weights stay exactly 0.  Entered
              without a mask (first phase or after ``dense``), the method's
              initial topology is drawn (random/ERK, SNIP, ...).
  ``prune``   gradual magnitude pruning (Zhu & Gupta): density goes from
              ``initial_density`` to ``final_density`` on a cubic schedule over
              the phase, updated every ``interval`` ``interval_unit`` s.
  ``evolve``  fixed-size sparse topology updated every ``interval``
              ``interval_unit`` s: drop ``drop_fraction`` (``decay``:
              constant|cosine|linear over the phase) of the active weights by
              magnitude, regrow as many (SET: random; RigL: largest gradient).

* ``end`` -- absolute epoch (1-based, inclusive: ``end: 5`` means the phase
  covers epochs up to 5) or absolute optimizer step after which the phase
  ends; ``null`` only for the last phase, or for a ``search`` phase that ends
  on its ``freeze`` criterion.
* ``unit`` -- ``epoch`` (default) or ``step``.
* ``start`` -- optional; must equal the previous phase's ``end`` (+1 epoch for
  epoch units), i.e. phases are contiguous.  Given only as a check.

Methods provide defaults per kind (see each method's docstring); keys given in
the YAML override them (nested dicts merge one level deep).
"""

import copy
import dataclasses
from typing import Any, Dict, List, Optional, Sequence

PHASE_KINDS = ("dense", "search", "sparse", "prune", "evolve")
UNITS = ("epoch", "step")
_COMMON = {"name", "start", "end", "unit"}
_KIND_KEYS = {
    "dense": {"pruned_init"},
    "search": {"temperature", "freeze", "threshold", "density", "density_scope", "round_reset"},
    "sparse": set(),
    "prune": {"initial_density", "final_density", "interval", "interval_unit", "scope"},
    "evolve": {"interval", "interval_unit", "drop_fraction", "decay"},
}
_SUB_KEYS = {
    "temperature": {"start", "end", "schedule", "per", "span"},
    "freeze": {"epsilon", "patience", "window", "window_unit", "min_change"},
}

#: Defaults applied to every method (our reconstruction where the paper is silent).
BASE_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "dense": {"pruned_init": "zero"},
    "search": {
        "temperature": {"start": 1.0, "end": 200.0, "schedule": "exponential", "per": "epoch", "span": None},
        "freeze": {"epsilon": 0.001, "patience": 2, "window": 1, "window_unit": "epoch", "min_change": 0.01},
        "threshold": 0.0,
        "density": None,
        "density_scope": "global",
        "round_reset": False,
    },
    "sparse": {},
    "prune": {"initial_density": 1.0, "final_density": None, "interval": 100, "interval_unit": "step", "scope": "layer"},
    "evolve": {"interval": 100, "interval_unit": "step", "drop_fraction": 0.3, "decay": "cosine"},
}


@dataclasses.dataclass
class Phase:
    """One parsed phase.

    Attributes:
        kind: one of :data:`PHASE_KINDS`.
        end: absolute end (epoch or step) or ``None``.
        unit: ``"epoch"`` or ``"step"``.
        options: kind-specific options with defaults applied.
        index: position in the phase list.
    """

    kind: str
    end: Optional[int]
    unit: str
    options: Dict[str, Any]
    index: int

    def to_dict(self) -> Dict[str, Any]:
        return dict(name=self.kind, end=self.end, unit=self.unit, **self.options)


def _merge(default: Dict[str, Any], given: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(default)
    for k, v in given.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            merged = dict(out[k])
            merged.update(v)
            out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_phases(
    phases: Sequence[Dict[str, Any]],
    allowed: Sequence[str],
    defaults: Optional[Dict[str, Dict[str, Any]]] = None,
    method: str = "?",
) -> List[Phase]:
    """Validate a phase list and apply defaults.

    Args:
        phases: the YAML list.
        allowed: phase kinds the method supports.
        defaults: per-kind defaults overriding :data:`BASE_DEFAULTS`.
        method: method name, for error messages.

    Raises:
        ValueError: naming ``sparsity_conf.phases[i]`` and the problem.
    """
    if not isinstance(phases, (list, tuple)) or len(phases) == 0:
        raise ValueError(f"sparsity_conf.phases ({method}): a non-empty list is required")
    kind_defaults = {k: _merge(BASE_DEFAULTS[k], (defaults or {}).get(k, {})) for k in PHASE_KINDS}
    out: List[Phase] = []
    prev_end: Dict[str, Optional[int]] = {}
    for i, item in enumerate(phases):
        where = f"sparsity_conf.phases[{i}] ({method})"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: each phase must be a mapping, got {item!r}")
        kind = str(item.get("name", "")).lower()
        if kind not in PHASE_KINDS:
            raise ValueError(f"{where}: name must be one of {PHASE_KINDS}, got {item.get('name')!r}")
        if kind not in allowed:
            raise ValueError(f"{where}: method '{method}' does not support phase '{kind}' (supports {tuple(allowed)})")
        unknown = set(item) - _COMMON - _KIND_KEYS[kind]
        if unknown:
            raise ValueError(
                f"{where}: unknown option(s) {sorted(unknown)} for phase '{kind}'; "
                f"valid: {sorted(_COMMON | _KIND_KEYS[kind])}"
            )
        unit = str(item.get("unit", "epoch")).lower()
        if unit not in UNITS:
            raise ValueError(f"{where}: unit must be one of {UNITS}, got {unit!r}")
        end = item.get("end")
        if end is not None and (not isinstance(end, int) or isinstance(end, bool) or end < 0):
            raise ValueError(f"{where}: end must be a non-negative integer or null, got {end!r}")
        given = {k: v for k, v in item.items() if k not in _COMMON}
        for sub, keys in _SUB_KEYS.items():
            if sub in given and given[sub] is not None:
                if not isinstance(given[sub], dict):
                    raise ValueError(f"{where}: {sub} must be a mapping or null")
                bad = set(given[sub]) - keys
                if bad:
                    raise ValueError(f"{where}: unknown {sub} option(s) {sorted(bad)}; valid: {sorted(keys)}")
        options = _merge(kind_defaults[kind], given)
        last = i == len(phases) - 1
        if end is None and not last:
            if not (kind == "search" and options.get("freeze")):
                raise ValueError(
                    f"{where}: only the last phase, or a search phase with a freeze criterion, may have end: null"
                )
        if kind == "prune" and end is None:
            raise ValueError(f"{where}: a prune phase needs an end (its cubic schedule spans the phase)")
        start = item.get("start")
        if start is not None and i > 0:
            p = prev_end.get(unit)
            expected = None if p is None else (p + 1 if unit == "epoch" else p)
            if expected is not None and start != expected:
                raise ValueError(
                    f"{where}: start {start} must follow the previous phase end "
                    f"(expected {expected}); phases are contiguous"
                )
        if end is not None and prev_end.get(unit) is not None and end <= prev_end[unit]:
            raise ValueError(f"{where}: end {end} must be after the previous phase end {prev_end[unit]}")
        if end is not None:
            prev_end[unit] = end
        _validate_options(kind, options, where)
        out.append(Phase(kind=kind, end=end, unit=unit, options=options, index=i))
    return out


def _validate_options(kind: str, o: Dict[str, Any], where: str) -> None:
    if kind == "dense" and o["pruned_init"] not in ("zero", "keep"):
        raise ValueError(f"{where}: pruned_init must be 'zero' or 'keep'")
    if kind == "search":
        t = o["temperature"]
        if t is None:
            raise ValueError(f"{where}: temperature is required for a search phase")
        if t.get("per", "epoch") not in UNITS:
            raise ValueError(f"{where}: temperature.per must be one of {UNITS}")
        if float(t["start"]) <= 0 or float(t["end"]) <= 0:
            raise ValueError(f"{where}: temperatures must be > 0")
        f = o["freeze"]
        if f is not None:
            if f.get("window_unit", "epoch") not in UNITS:
                raise ValueError(f"{where}: freeze.window_unit must be one of {UNITS}")
            if int(f.get("window", 1)) < 1 or int(f.get("patience", 1)) < 1:
                raise ValueError(f"{where}: freeze.window and freeze.patience must be >= 1")
        d = o["density"]
        if d is not None and not 0.0 < float(d) <= 1.0:
            raise ValueError(f"{where}: density must be in (0, 1]")
        if o["density_scope"] not in ("global", "layer"):
            raise ValueError(f"{where}: density_scope must be 'global' or 'layer'")
    if kind in ("prune", "evolve"):
        if o["interval_unit"] not in UNITS:
            raise ValueError(f"{where}: interval_unit must be one of {UNITS}")
        if int(o["interval"]) < 1:
            raise ValueError(f"{where}: interval must be >= 1")
    if kind == "prune":
        if o["scope"] not in ("global", "layer"):
            raise ValueError(f"{where}: scope must be 'global' or 'layer'")
        if not 0.0 < float(o["initial_density"]) <= 1.0:
            raise ValueError(f"{where}: initial_density must be in (0, 1]")
    if kind == "evolve":
        if not 0.0 <= float(o["drop_fraction"]) < 1.0:
            raise ValueError(f"{where}: drop_fraction must be in [0, 1)")
        if o["decay"] not in ("constant", "cosine", "linear"):
            raise ValueError(f"{where}: decay must be constant, cosine or linear")

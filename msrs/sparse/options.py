"""Declared options of the sparsity methods: one table per class, merged along the MRO.

Each method class lists its ``sparsity_conf`` options with their defaults in
``options`` (a dict); subclasses add options or override defaults.  The
merged table is the constructor's signature (``inspect.signature`` reads
``__signature__``, so ESPnet's ``--print_config`` lists every option with its
default), unknown keys are rejected with the list of valid ones, and values
are checked against the default's type (ints are accepted for floats).
"""

import inspect
from typing import Any, Dict


def merged_options(cls) -> Dict[str, Any]:
    """The option table of ``cls`` (base classes first, subclasses override)."""
    out: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get("options", {}))
    return out


def signature_of(cls) -> inspect.Signature:
    """A keyword signature with the merged defaults (``self`` first)."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in merged_options(cls).items()
    ]
    return inspect.Signature(params)


def resolve_options(cls, conf: Dict[str, Any]) -> Dict[str, Any]:
    """Defaults of ``cls`` updated with ``conf``, validated.

    Raises:
        ValueError: an unknown key (the message lists the valid ones) or a
            value of the wrong type, naming the option.
    """
    table = merged_options(cls)
    unknown = sorted(set(conf) - set(table))
    if unknown:
        raise ValueError(
            f"sparsity_conf for '{cls.method_name}': unknown option(s) {unknown}; "
            f"valid options: {sorted(table)}"
        )
    out = dict(table)
    for key, value in conf.items():
        out[key] = _check(cls.method_name, key, value, table[key])
    return out


def _check(method: str, key: str, value: Any, default: Any) -> Any:
    if value is None or default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool) or (key == "penalty_normalize" and isinstance(value, str))
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str) or (key == "penalty_normalize" and isinstance(value, bool))
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(
            f"sparsity_conf for '{method}': {key} must be of type {type(default).__name__} "
            f"(default {default!r}), got {value!r}"
        )
    return value

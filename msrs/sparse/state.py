"""Scalar state of a sparsity object, and how state dicts load into a masked model.

All scalar state (phase index, step and epoch counters, temperature, freeze
record, ...) is kept in buffers of ``model.sparsity`` so ESPnet's
``checkpoint.pth`` carries it; a Python mirror (``sp._s``) avoids a device
sync per step and is refreshed after every load.

One load pre-hook on the masked model makes every state dict loadable:

* checkpoints averaged by ESPnet's n-best averaging are repaired with
  :func:`msrs.sparse.averaging.fix_averaged_state_dict` (the one repair, also
  used on files after training);
* a plain dense state dict (``x.weight``) is mapped onto the parametrization
  (``x.parametrizations.weight.original``);
* state missing from the file keeps the model's own values: sparsity state
  written by an older msrs (keys added since), and masks and logits of a
  dense checkpoint.  Logits and masks released after the search are stored
  as zero-stride views of one element (same shape, a few bytes on disk; see
  :meth:`msrs.sparse.masks.MaskParametrization.release`).
"""

from typing import Any, Dict

import numpy
import torch

from msrs.sparse.averaging import fix_averaged_state_dict, repair_mask

INT_STATE = (
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
    "search_moved",  # 1 once the search has moved (a window may then count as stable)
    "released",  # 1 once logits and masks were released (dense continuation)
)
FLOAT_STATE = (
    "temperature",
    "flip_rate",
    "freeze_density",
    "soft_scale",
    "penalty_lambda",  # the penalty weight in force (the target-density controller moves it)
    "pull_coef",  # the penalty's normalisation c of the last step (penalties.py)
)
STATE_DEFAULTS: Dict[str, Any] = {
    "checkpoint_count": 1,
    "freeze_epoch": -1,
    "freeze_step": -1,
    "freeze_density": -1.0,
    "flip_rate": -1.0,  # not measured yet
    "temperature": 1.0,
    "soft_scale": 1.0,  # the soft mask's constant factor (read by squash/report)
    "penalty_lambda": -1.0,  # -1: the configured penalty_weight
}


class StateMixin:
    """Scalar buffers of the sparsity object and their Python mirror ``_s``."""

    def _init_state(self) -> None:
        self._s: Dict[str, Any] = {}
        for name in INT_STATE:
            v = int(STATE_DEFAULTS.get(name, 0))
            self.register_buffer(name, torch.tensor(v, dtype=torch.int64))
            self._s[name] = v
        for name in FLOAT_STATE:
            v = float(STATE_DEFAULTS.get(name, 0.0))
            self.register_buffer(name, torch.tensor(v, dtype=torch.float32))
            self._s[name] = v

    def _set(self, name: str, value) -> None:
        # floats are mirrored as the float32 the buffer holds, so a resumed run sees the same value
        cast = type(self._s[name])
        self._s[name] = float(numpy.float32(value)) if cast is float else cast(value)
        getattr(self, name).fill_(value)

    def _refresh_mirror(self) -> None:
        for name in INT_STATE:
            self._s[name] = int(getattr(self, name).item())
        for name in FLOAT_STATE:
            self._s[name] = float(getattr(self, name).item())


def model_load_pre_hook(sp):
    """Pre-hook on the masked model: averaging repair, and sparsity state missing from the file."""

    def hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        fix_averaged_state_dict(state_dict)
        for name in INT_STATE + FLOAT_STATE:
            key = prefix + "sparsity." + name
            if key not in state_dict:
                state_dict[key] = getattr(sp, name).detach().clone()

    return hook


def owner_load_pre_hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    """Pre-hook on each module owning a masked weight (also when loaded on its own).

    Maps a dense ``<prefix>weight`` onto the parametrization, keeps the
    module's own mode/mask/logits when the file has none, and re-binarises a
    fractional (averaged) mask with the averaging's own rule.
    """
    for tname, plist in module.parametrizations.items():
        plain = prefix + tname
        orig = f"{prefix}parametrizations.{tname}.original"
        if plain in state_dict:  # a dense weight wins over our own entry (ESPnet's --init_param merges both)
            state_dict[orig] = state_dict.pop(plain)
        par = plist[0]
        ppref = f"{prefix}parametrizations.{tname}.0."
        for name, tensor in (("mode", par.mode), ("mask", par.mask), ("logits", par.logits)):
            key = ppref + name
            if tensor is None:
                continue
            if key not in state_dict:
                state_dict[key] = tensor.detach().clone()
            elif name == "mask":
                state_dict[key] = repair_mask(state_dict[key])

"""Gradient-flow probe on a fixed batch (works with or without sparsity).

Every ``interval`` optimizer steps the probe runs the model on one fixed
training batch (the first batch the run saw, saved as
``grad_flow_probe.pt`` so a resumed run uses the same one) and records the
gradient of the **task loss** (the sparsity penalty excluded) with respect to
each probed **effective weight** -- the tensor the layer computes with
(``w * s * sigmoid(l phi)`` during a search, ``w`` with pruned entries 0 after
it, ``w`` for a dense model) -- so dense and MSRS runs, and the phases of one
run, compare like with like.  (The stored weight's gradient would include the
soft mask's factor: ``s * sigmoid(l phi)``, 2 for a saturated kept logit with
``phi_init 0``.)  Probed weights are the sparsity targets when a method is
attached, otherwise the default targets (Linear/Conv weights except output
layers).  Where a mask is in force (the hard decision during a search, the
binary mask after it) the gradient is restricted to the active connections,
as in RigL's gradient-flow code.

Record (one JSON line in ``grad_flow.jsonl``)::

    {"step", "epoch", "phase", "tag", "global_norm", "egf", "layers": {name: norm}}

* ``global_norm``: L2 norm of all probed masked gradients concatenated.
* ``egf`` (effective gradient flow, our reading of Tessera et al. 2021): the
  mean over layers of ``||g_l * m_l||_2 / n_active_l``.
* ``tag``: ``interval`` or ``after_transition`` (one extra probe at the
  epoch end where a phase changed).

The probe runs in training mode with dropout seeded (``torch.random.fork_rng``:
the training RNG stream is untouched), fp32, outside DDP (rank 0 only, on the
unwrapped module), and restores every buffer it changed (e.g. BatchNorm
statistics), so it does not perturb training.
"""

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.utils.parametrize as parametrize

from msrs.sparse.masks import DENSE
from msrs.sparse.targets import select_targets

logger = logging.getLogger(__name__)

PROBE_SEED = 20240617


def _to(obj, device):
    if torch.is_tensor(obj):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(v, device) for v in obj)
    return obj


class GradFlowProbe:
    """Fixed-batch gradient-norm probe.

    Args:
        output_dir: where ``grad_flow.jsonl`` and ``grad_flow_probe.pt`` live.
        interval: probe every ``interval`` optimizer steps (> 0).
    """

    def __init__(self, output_dir: Path, interval: int):
        self.output_dir = Path(output_dir)
        self.interval = int(interval)
        self.path = self.output_dir / "grad_flow.jsonl"
        self.batch_path = self.output_dir / "grad_flow_probe.pt"
        self.batch: Optional[Dict[str, Any]] = None
        if self.batch_path.exists():
            try:
                self.batch = torch.load(self.batch_path, map_location="cpu", weights_only=False)
            except Exception as e:
                logger.warning("grad flow: cannot read %s (%s); taking a new probe batch", self.batch_path, e)

    def offer(self, batch: Dict[str, Any]) -> None:
        """Keep ``batch`` (moved to CPU) as the probe batch if none is set yet."""
        if self.batch is not None:
            return
        self.batch = {k: (v.detach().cpu().clone() if torch.is_tensor(v) else v) for k, v in batch.items()}
        self.output_dir.mkdir(parents=True, exist_ok=True)
        torch.save(self.batch, self.batch_path)

    def truncate_after(self, step: int) -> None:
        """Drop records newer than ``step`` (left by an interrupted run)."""
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except json.JSONDecodeError:
                continue
        self.path.write_text("".join(k + "\n" for k in keep))

    @staticmethod
    def _probed(model: torch.nn.Module) -> Tuple[List[str], List[Tuple[torch.nn.Module, str]], List[Optional[torch.Tensor]]]:
        """Names, ``(module, tensor name)`` of the probed weights and their masks (or ``None``)."""
        sp = getattr(model, "sparsity", None)
        if sp is not None and getattr(sp, "targets", None):
            names = [t.name for t in sp.targets]
            params = [(t.module, t.tensor_name) for t in sp.targets]
            mode = sp._mode()
            if mode == DENSE:
                masks = [None] * len(params)
            elif mode == 1:
                masks = sp.hard_masks()
            else:
                masks = [t.parametrization.mask for t in sp.targets]
            return names, params, masks
        try:
            targets = select_targets(model)
        except ValueError:
            return [], [], []
        return [t.name for t in targets], [(t.module, t.tensor_name) for t in targets], [None] * len(targets)

    def measure(self, model: torch.nn.Module, step: int, epoch: int, phase: str, tag: str = "interval") -> Optional[Dict[str, Any]]:
        """Run the probe and append its record; returns it (``None`` without a batch)."""
        if self.batch is None:
            return None
        inner = getattr(model, "module", model)
        names, owners, masks = self._probed(inner)
        if not owners:
            return None
        device = next(inner.parameters()).device
        batch = _to(self.batch, device)
        saved = {
            n: b.detach().clone()
            for n, b in inner.named_buffers()
            if ".parametrizations." not in "." + n and not n.startswith("sparsity.")
        }
        sp = getattr(inner, "sparsity", None)
        was_training = inner.training
        devices = [torch.cuda.current_device()] if device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.enable_grad():
                torch.manual_seed(PROBE_SEED)
                inner.train()
                ctx = sp.penalty_disabled() if sp is not None else _Null()
                # cached(): each parametrized weight is computed once, and the
                # forward uses exactly the tensors we differentiate against
                with ctx, parametrize.cached():
                    params = [getattr(m, n) for m, n in owners]
                    out = inner(**batch)
                    loss = out["loss"] if isinstance(out, dict) else out[0]
                    grads = torch.autograd.grad(loss.sum(), params, allow_unused=True)
        finally:
            with torch.no_grad():
                for n, b in inner.named_buffers():
                    if n in saved:
                        b.copy_(saved[n])
            inner.train(was_training)
        norms, egf_terms, sq = {}, [], torch.zeros((), dtype=torch.float64, device=device)
        with torch.no_grad():
            vals = []
            for name, p, g, m in zip(names, params, grads, masks):
                if g is None:
                    g = torch.zeros_like(p)
                gf = g.float()
                if m is not None:
                    gf = gf * m
                    n_active = float(m.sum()) * (p.numel() / m.numel())
                else:
                    n_active = float(p.numel())
                vals.append(gf.norm())
                egf_terms.append(n_active)
            norm_list = torch.stack(vals).double().tolist()
        for name, v, n_active in zip(names, norm_list, egf_terms):
            norms[name] = v
            sq += v * v
        egf = sum(v / max(n, 1.0) for v, n in zip(norm_list, egf_terms)) / max(len(norm_list), 1)
        record = {
            "step": int(step),
            "epoch": int(epoch),
            "phase": phase,
            "tag": tag,
            "global_norm": float(sq.sqrt()),
            "egf": float(egf),
            "layers": norms,
        }
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        return record


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

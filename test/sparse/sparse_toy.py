"""A tiny ESPnet-convention model and a training loop for the sparsity tests."""

from typing import Dict, List, Optional

import torch

from msrs.sparse.abs_sparsity import AbsSparsity


class ToyModel(torch.nn.Module):
    """Linear -> ReLU -> Linear -> Conv1d -> output layer, with a LayerNorm and an embedding.

    ``forward`` returns ESPnet's ``(loss, stats, weight)``.
    """

    def __init__(self, d_in: int = 8, d: int = 24, n_cls: int = 4, dropout: float = 0.0):
        super().__init__()
        self.embed = torch.nn.Embedding(3, d_in)
        self.enc = torch.nn.Sequential(
            torch.nn.Linear(d_in, d), torch.nn.ReLU(), torch.nn.Dropout(dropout),
            torch.nn.Linear(d, d), torch.nn.ReLU(),
        )
        self.norm = torch.nn.LayerNorm(d)
        self.conv = torch.nn.Conv1d(d, 16, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(16)
        self.output_layer = torch.nn.Linear(16, n_cls)

    def forward(self, x: torch.Tensor, y: torch.Tensor, **kwargs):
        h = self.norm(self.enc(x + self.embed.weight[0]))
        h = self.bn(self.conv(h.unsqueeze(-1).expand(-1, -1, 5))).mean(-1)
        loss = torch.nn.functional.cross_entropy(self.output_layer(h), y)
        return loss, {"loss": loss.detach()}, torch.tensor(x.shape[0])


def make_optimizer(model: torch.nn.Module, sp: Optional[AbsSparsity], lr: float = 1e-2, wd: float = 0.01):
    """AdamW with the logits in their own group (as SparsityTaskMixin does)."""
    logits = sp.logit_parameters if sp is not None else []
    ids = {id(p) for p in logits}
    groups: List[Dict] = [{"params": [p for p in model.parameters() if id(p) not in ids]}]
    if logits:
        groups.append({"params": logits, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=wd)
    if sp is not None:
        sp.register_optimizer(opt)
    return opt


def batch(step: int, n: int = 16):
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return x, y


def train(model, opt, sp: Optional[AbsSparsity], steps: int, start: int = 0, steps_per_epoch: int = 0):
    """Train ``steps`` steps; call the epoch hooks every ``steps_per_epoch`` steps."""
    model.train()
    for i in range(start, start + steps):
        if sp is not None and steps_per_epoch and i % steps_per_epoch == 0:
            sp.start_epoch(i // steps_per_epoch + 1)
        x, y = batch(i)
        loss, stats, _ = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if sp is not None and steps_per_epoch and (i + 1) % steps_per_epoch == 0:
            sp.end_epoch((i + 1) // steps_per_epoch)
    return stats


def attached(cls, **conf):
    torch.manual_seed(0)
    model = ToyModel()
    sp = cls(**conf)
    sp.attach(model)
    return model, sp

"""Per-step cost of MSRS masks relative to the same dense step (CPU by default).

Builds ESPnet's ``ConformerEncoder`` (12 blocks, d=256, 4 heads, FFN 1024,
conv kernel 31, conv2d subsampling of 80-dim features) three times from the
same seed:

* ``dense``  -- no masks;
* ``search`` -- MSRS attached, in its search phase (soft masks, logits in
  their own AdamW group, penalty added by the forward hook);
* ``sparse`` -- MSRS after the freeze with the sparse continuation (fixed
  binary masks, gradient masking and re-zeroing in the step hooks);

and times one training step (zero_grad, forward, loss, backward, AdamW step)
on a batch of ``--batch`` x ``--frames`` x 80 features.  Variants are timed
in interleaved rounds and the median per variant is reported, so the
ratios come from one run on one machine.  Both wall-clock and process CPU
time are measured; on a machine shared with other jobs the CPU-time ratios
(with ``--threads 1``) are the meaningful ones, because waiting for a core
inflates wall time at random.  The headline is the median over rounds of the
per-round CPU-time ratio (the three variants of a round run back to back, so
slow drifts in the machine's load cancel); the ratio of medians and of minima
are printed too.  Memory: parameter and buffer bytes of
each variant, and the extra optimizer state of the logits.

Usage::

    python bench/sparse_overhead.py [--threads 2] [--rounds 5] [--steps 2] [--device cpu]

Bars (issue 3): search <= 1.15x dense, sparse <= 1.05x dense, search
parameter memory overhead <= 2x the parameters.
"""

import argparse
import statistics
import time

import torch

from msrs.utils.espnet_import import import_espnet

import_espnet("espnet2.tasks.asr")
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder  # noqa: E402

from msrs.sparse import MSRSSparsity  # noqa: E402


class Wrapped(torch.nn.Module):
    """Encoder + a scalar loss in ESPnet's ``(loss, stats, weight)`` convention."""

    def __init__(self, blocks: int, dim: int):
        super().__init__()
        self.encoder = ConformerEncoder(
            input_size=80, output_size=dim, attention_heads=4, linear_units=4 * dim,
            num_blocks=blocks, cnn_module_kernel=31, input_layer="conv2d",
            macaron_style=True, rel_pos_type="latest", pos_enc_layer_type="rel_pos",
            selfattention_layer_type="rel_selfattn", activation_type="swish",
            use_cnn_module=True,
        )

    def forward(self, feats, lengths):
        out, olens, _ = self.encoder(feats, lengths)
        loss = out.square().mean()
        return loss, {"loss": loss.detach()}, torch.tensor(feats.shape[0])


def build(variant: str, blocks: int, dim: int, device: str):
    torch.manual_seed(0)
    model = Wrapped(blocks, dim).to(device)
    sp = None
    if variant != "dense":
        # "search" never leaves its search phase; "sparse" freezes after the warm-up step
        end = 1 if variant == "sparse" else 10**9
        sp = MSRSSparsity(
            penalty_weight=1.0,
            phases=[{"name": "search", "end": end, "unit": "step", "freeze": None}, {"name": "sparse"}],
        )
        sp.attach(model)
    logits = sp.logit_parameters if sp is not None else []
    ids = {id(p) for p in logits}
    groups = [{"params": [p for p in model.parameters() if id(p) not in ids]}]
    if logits:
        groups.append({"params": logits, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=1e-4, weight_decay=0.01)
    if sp is not None:
        sp.register_optimizer(opt)
    return model, sp, opt


def step(model, opt, feats, lengths):
    opt.zero_grad(set_to_none=True)
    loss, _, _ = model(feats, lengths)
    loss.backward()
    opt.step()


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(args.batch, args.frames, 80, generator=g).to(dev)
    lengths = torch.full((args.batch,), args.frames, dtype=torch.long).to(dev)

    variants = {}
    for name in ("dense", "search", "sparse"):
        model, sp, opt = build(name, args.blocks, args.dim, dev)
        step(model, opt, feats, lengths)  # warm-up; for "sparse" this freezes the mask
        assert sp is None or sp.phase == {"search": "search", "sparse": "sparse"}[name], sp.phase
        variants[name] = (model, sp, opt)

    times = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    for r in range(args.rounds):
        order = list(variants.items())
        order = order[r % len(order):] + order[: r % len(order)]  # rotate to spread drift
        for name, (model, sp, opt) in order:
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                step(model, opt, feats, lengths)
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            times[name].append((time.perf_counter() - t0) / args.steps)
            cpu[name].append((time.process_time() - c0) / args.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    cmin = {k: min(v) for k, v in cpu.items()}

    dense_model = variants["dense"][0]
    p_bytes = nbytes(list(dense_model.parameters()))
    search_model, search_sp, search_opt = variants["search"]
    extra = nbytes(search_sp.logit_parameters) + nbytes(
        [t.parametrization.mask for t in search_sp.targets]
        + [t.parametrization.mode for t in search_sp.targets]
        + list(search_sp.buffers())
    )
    opt_extra = nbytes(
        [v for p in search_sp.logit_parameters for v in search_opt.state.get(p, {}).values()
         if torch.is_tensor(v) and v.dim() > 0]
    )
    n_params = sum(p.numel() for p in dense_model.parameters())
    print(f"model: ConformerEncoder {args.blocks} blocks, d={args.dim}, {n_params / 1e6:.2f} M parameters, "
          f"{search_sp.num_target_weights / 1e6:.2f} M masked; batch {args.batch}x{args.frames}x80; "
          f"device {dev}, threads {torch.get_num_threads()}, {args.rounds} rounds x {args.steps} steps")
    assert search_sp.phase == "search" and variants["sparse"][1].phase == "sparse"
    for k in ("dense", "search", "sparse"):
        print(f"step {k:<7} wall median {med[k] * 1000:8.1f} ms (rounds "
              + ", ".join(f"{t * 1000:.0f}" for t in times[k]) + f"); cpu median {cmed[k] * 1000:8.1f} ms (rounds "
              + ", ".join(f"{t * 1000:.0f}" for t in cpu[k]) + ")")
    for k, bar in (("search", 1.15), ("sparse", 1.05)):
        paired = statistics.median(a / b for a, b in zip(cpu[k], cpu["dense"]))
        print(f"ratio {k}/dense  cpu paired-median {paired:.3f}  cpu-median {cmed[k] / cmed['dense']:.3f}  "
              f"cpu-min {cmin[k] / cmin['dense']:.3f}  wall-median {med[k] / med['dense']:.3f}  (bar <= {bar})")
    print(f"parameter memory: dense {p_bytes / 2**20:.1f} MiB; search adds {extra / 2**20:.1f} MiB "
          f"(logits + masks + state) = {extra / p_bytes:.2f}x parameters (bar <= 2x); "
          f"AdamW state of the logits adds {opt_extra / 2**20:.1f} MiB = {opt_extra / p_bytes:.2f}x")


if __name__ == "__main__":
    main()

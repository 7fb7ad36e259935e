"""Per-step cost of MSRS relative to the same dense step, on a paper-shaped model (CPU by default).

The model is the LRS3 configs' encoder and decoder width: ESPnet's
``ConformerEncoder`` (d=768, 12 heads, FFN 3072, conv kernel 31, macaron,
rel-pos; ``--blocks`` 12) on 512-d frame features (the ResNet frontend's
output, 25 frames/s, no subsampling) plus one ``TransformerDecoder`` block
(d=768, FFN 3072) and a 5000-unit output, trained with ESPnet's
``ESPnetASRModel`` loss (0.1 CTC + 0.9 attention, label smoothing 0.1).  A
training step is what ESPnet's trainer does: ``--accum_grad`` micro-batches
of forward + backward, gradient clipping at 5 (weights and logits apart, as
:class:`msrs.sparse.trainer.MsrsTrainer` does), AdamW step, ``zero_grad``.
The LRS3 configs put about 3,150 video frames in each GPU's micro-batch with
``accum_grad 4``; on a CPU the default is ``--batch 4 x --frames 75`` (300
frames) with ``accum_grad 2``: scaled down in frames only, so the per-weight
work of the masks weighs *more* here than at the real batch (the ratios are
upper bounds for the real setting).

Three variants, built from the same seed:

* ``dense``  -- no masks;
* ``search`` -- MSRS in its search phase (soft masks, logits in their own
  AdamW group, the penalty's pull added in the pre-step hook);
* ``sparse`` -- MSRS after the freeze, sparse continuation (fixed masks:
  gradients masked before the step, pruned weights re-zeroed after it).

They are timed in interleaved rounds (the order rotates), measuring process
CPU time (with one thread pinned the meaningful clock on a shared machine)
and wall time; the headline ratio is the median over rounds of the per-round
ratio (the variants of a round run back to back, so slow drifts in the
machine's load cancel).  The last line is exactly::

    search/dense=<ratio> sparse/dense=<ratio>

Usage::

    python bench/sparse_overhead.py [--threads 1] [--rounds 5] [--blocks 12] [--device cpu]
    python bench/sparse_overhead.py --device cuda --dtype bf16 --batch 21 --frames 150 --rounds 10

``--dtype bf16`` runs each micro-batch's forward under ``torch.autocast`` to
bfloat16 (what ESPnet's ``use_amp: true`` does on a bf16-capable GPU; the
weights, mask logits, gradients and AdamW states stay float32); the default
``fp32`` uses no autocast.  On CUDA the ratios use wall time (synchronized),
on CPU process time, and CUDA also prints each variant's peak memory.

Targets (issue 11): search <= 1.10 x dense, sparse <= 1.03 x dense on CPU.
"""

import argparse
import statistics
import time

import torch

from msrs.utils.espnet_import import import_espnet

import_espnet("espnet2.tasks.asr")
from espnet2.asr.ctc import CTC  # noqa: E402
from espnet2.asr.decoder.transformer_decoder import TransformerDecoder  # noqa: E402
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder  # noqa: E402
from espnet2.asr.espnet_model import ESPnetASRModel  # noqa: E402

from msrs.sparse import MSRSSparsity  # noqa: E402
from msrs.sparse.clipping import split_clipping  # noqa: E402
from msrs.sparse.task import LR_SCALE_KEY  # noqa: E402

VOCAB = 5000


def build_model(blocks: int, dim: int) -> ESPnetASRModel:
    encoder = ConformerEncoder(
        input_size=512, output_size=dim, attention_heads=12, linear_units=4 * dim, num_blocks=blocks,
        cnn_module_kernel=31, input_layer="linear", macaron_style=True, rel_pos_type="latest",
        pos_enc_layer_type="rel_pos", selfattention_layer_type="rel_selfattn", activation_type="swish",
        use_cnn_module=True, dropout_rate=0.1, positional_dropout_rate=0.1, attention_dropout_rate=0.1,
    )
    decoder = TransformerDecoder(VOCAB, dim, attention_heads=12, linear_units=4 * dim, num_blocks=1)
    ctc = CTC(VOCAB, dim)
    tokens = ["<blank>"] + [f"t{i}" for i in range(VOCAB - 2)] + ["<sos/eos>"]
    return ESPnetASRModel(
        vocab_size=VOCAB, token_list=tokens, frontend=None, specaug=None, normalize=None, preencoder=None,
        encoder=encoder, postencoder=None, decoder=decoder, ctc=ctc, joint_network=None, ctc_weight=0.1,
        lsm_weight=0.1,
    )


def build(variant: str, blocks: int, dim: int, device: str):
    torch.manual_seed(0)
    model = build_model(blocks, dim).to(device)
    sp = None
    if variant != "dense":
        # "search" never leaves its search phase; "sparse" freezes after the warm-up step
        end = 1 if variant == "sparse" else 10**9
        sp = MSRSSparsity(
            penalty_weight=0.1,
            phases=[{"name": "search", "end": end, "unit": "step", "freeze": None}, {"name": "sparse"}],
        )
        sp.attach(model)
    logits = sp.logit_parameters if sp is not None else []
    ids = {id(p) for p in logits}
    groups = [{"params": [p for p in model.parameters() if id(p) not in ids]}]
    if logits:
        groups.append({"params": logits, "weight_decay": 0.0, LR_SCALE_KEY: 1.0})
    opt = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.98), weight_decay=0.03)
    if sp is not None:
        sp.register_optimizer(opt)
    return model, sp, opt


def make_batches(n: int, batch: int, frames: int, device: str):
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(n):
        feats = torch.randn(batch, frames, 512, generator=g)
        ylen = frames // 4
        text = torch.randint(1, VOCAB - 1, (batch, ylen), generator=g)
        out.append(dict(
            speech=feats.to(device), speech_lengths=torch.full((batch,), frames, dtype=torch.long).to(device),
            text=text.to(device), text_lengths=torch.full((batch,), ylen, dtype=torch.long).to(device),
        ))
    return out


def autocast_for(device: str, dtype: str):
    """The forward's autocast context: bfloat16 for ``bf16``, none for ``fp32``."""
    kind = device.split(":")[0]
    if dtype == "bf16":
        return lambda: torch.autocast(device_type=kind, dtype=torch.bfloat16)
    return lambda: torch.autocast(device_type=kind, enabled=False)


def train_step(model, sp, opt, batches, grad_clip: float = 5.0, autocast=None):
    """One optimizer step as ESPnet's trainer takes it (accumulation, clipping, step, zero_grad)."""
    for b in batches:
        if autocast is None:
            loss, _, _ = model(**b)
        else:
            with autocast():
                loss, _, _ = model(**b)
        (loss / len(batches)).backward()
    clip = split_clipping(sp) if sp is not None else _Null()
    with clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=grad_clip)
    opt.step()
    opt.zero_grad()


class _Null:
    def __enter__(self):
        return []

    def __exit__(self, *a):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--batch", type=int, default=4, help="utterances per micro-batch")
    parser.add_argument("--frames", type=int, default=75, help="frames per utterance (25/s)")
    parser.add_argument("--accum_grad", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1, help="timed steps per round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"],
                        help="fp32: no autocast; bf16: forward under bfloat16 autocast")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    cuda = dev.startswith("cuda")
    autocast = autocast_for(dev, args.dtype)
    batches = make_batches(args.accum_grad, args.batch, args.frames, dev)

    variants = {}
    for name in ("dense", "search", "sparse"):
        model, sp, opt = build(name, args.blocks, args.dim, dev)
        model.train()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        train_step(model, sp, opt, batches, autocast=autocast)  # warm-up; for "sparse" this freezes the mask
        assert sp is None or sp.phase == {"search": "search", "sparse": "sparse"}[name], sp.phase
        variants[name] = (model, sp, opt)
        peak = ""
        if cuda:  # cumulative: the variants built before stay allocated
            peak = f" (peak allocated so far {torch.cuda.max_memory_allocated() / 1e9:.1f} GB)"
        print(f"built {name}{peak}", flush=True)

    wall = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    for r in range(args.rounds):
        order = list(variants.items())
        order = order[r % len(order):] + order[: r % len(order)]  # rotate to spread drift
        for name, (model, sp, opt) in order:
            if cuda:
                torch.cuda.synchronize()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                train_step(model, sp, opt, batches, autocast=autocast)
            if cuda:
                torch.cuda.synchronize()
            wall[name].append((time.perf_counter() - t0) / args.steps)
            cpu[name].append((time.process_time() - c0) / args.steps)
        shown = cpu if not cuda else wall
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {shown[k][-1]:.3f} s" for k in variants), flush=True)

    dense_model = variants["dense"][0]
    n_params = sum(p.numel() for p in dense_model.parameters())
    search_sp = variants["search"][1]
    print(f"model: ConformerEncoder {args.blocks} x d{args.dim} + 1 decoder block, {n_params / 1e6:.1f} M parameters, "
          f"{search_sp.num_target_weights / 1e6:.1f} M masked; micro-batch {args.batch} x {args.frames} frames, "
          f"accum_grad {args.accum_grad}; device {dev}, {args.dtype}, threads {torch.get_num_threads()}, {args.rounds} rounds")
    clock = wall if cuda else cpu
    ratios = {}
    for k in ("dense", "search", "sparse"):
        print(f"step {k:<7} cpu median {statistics.median(cpu[k]):7.3f} s  wall median {statistics.median(wall[k]):7.3f} s")
    for k, bar in (("search", 1.10), ("sparse", 1.03)):
        ratios[k] = statistics.median(a / b for a, b in zip(clock[k], clock["dense"]))
        print(f"ratio {k}/dense paired-median {ratios[k]:.3f} (min-ratio {min(clock[k]) / min(clock['dense']):.3f}, "
              f"target <= {bar})")
    print(f"search/dense={ratios['search']:.3f} sparse/dense={ratios['sparse']:.3f}")


if __name__ == "__main__":
    main()

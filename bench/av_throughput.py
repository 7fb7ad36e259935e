"""Throughput of the VSR models: training and inference frames/s, decoding RTF.

For each model (``mini`` and ``paper``, Auto-AVSR size, about 250 M
parameters) built through ``AVSRTask.build_model``:

* **train fps**: video frames per second of one training step (forward with
  the hybrid CTC/attention loss, backward, AdamW step) on ``--batch`` x
  ``--frames`` random 88x88 frames;
* **infer fps**: frames per second of the encoder pass (frontend + encoder,
  ``torch.no_grad``, eval mode) on the same batch;
* **decode RTF** (``mini`` only by default): wall time of encoder + ESPnet
  batch beam search (``--beam`` 10, CTC weight 0.1) divided by the media
  duration (frames / 25), one utterance at a time, through
  ``msrs.bin.avsr_inference.AVSRDecoder``.  The weights are random, so the
  output length is capped at ``--tokens_per_second`` x duration (LRS3 speech
  is about 3.6 unigram-5000 tokens/s) and the mean hypothesis length is
  printed with it.

Each number is the median over ``--rounds`` timed repetitions after a warm-up.
Nothing is asserted; numbers are printed (and written as JSON with ``--json``).

Usage::

    python bench/av_throughput.py                      # CPU, float32
    python bench/av_throughput.py --models mini --rounds 5
    python bench/av_throughput.py --device cuda --dtype bfloat16 --batch 8 --frames 100
"""

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from msrs.tasks.avsr import AVSRTask
from msrs.tasks.avsr_testing import parse_config

FPS = 25

_ENCODER = dict(
    input_layer="linear",
    macaron_style=True,
    rel_pos_type="latest",
    pos_enc_layer_type="rel_pos",
    selfattention_layer_type="rel_selfattn",
    activation_type="swish",
    use_cnn_module=True,
)

MODELS = {
    # A CPU-trainable lip reader: ResNet-18 at 1/4 width, 4 conformer blocks of 128.
    "mini": dict(
        vocab=500,
        config=dict(
            modality="vsr",
            video_frontend="resnet",
            video_frontend_conf=dict(stem_channels=16, channels=[16, 32, 64, 128]),
            encoder="conformer",
            encoder_conf=dict(
                output_size=128,
                attention_heads=4,
                linear_units=512,
                num_blocks=4,
                cnn_module_kernel=15,
                **_ENCODER,
            ),
            decoder="transformer",
            decoder_conf=dict(attention_heads=4, linear_units=512, num_blocks=2),
            model_conf=dict(ctc_weight=0.1, lsm_weight=0.1),
            token_type="word",
        ),
    ),
    # Auto-AVSR's VSR model (docs/models.md, paper_vsr).
    "paper": dict(
        vocab=5000,
        config=dict(
            modality="vsr",
            video_frontend="resnet",
            encoder="conformer",
            encoder_conf=dict(
                output_size=768,
                attention_heads=12,
                linear_units=3072,
                num_blocks=12,
                cnn_module_kernel=31,
                **_ENCODER,
            ),
            decoder="transformer",
            decoder_conf=dict(attention_heads=12, linear_units=3072, num_blocks=6),
            model_conf=dict(ctc_weight=0.1, lsm_weight=0.1),
            token_type="word",
        ),
    ),
}


def _tokens(vocab: int):
    return ["<blank>", "<unk>"] + [f"w{i}" for i in range(vocab - 3)] + ["<sos/eos>"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _autocast(device: str, dtype: str):
    if dtype == "float32":
        return torch.autocast(device_type=device.split(":")[0], enabled=False)
    return torch.autocast(device_type=device.split(":")[0], dtype=getattr(torch, dtype))


def _batch(batch: int, frames: int, vocab: int, device: str):
    g = torch.Generator().manual_seed(0)
    text_len = max(2, frames * 4 // FPS)
    return dict(
        video=(torch.rand(batch, frames, 88, 88, generator=g) * 255).to(device),
        video_lengths=torch.full((batch,), frames, dtype=torch.long, device=device),
        text=torch.randint(2, vocab - 1, (batch, text_len), generator=g).to(device),
        text_lengths=torch.full((batch,), text_len, dtype=torch.long, device=device),
    )


def _median_time(fn, rounds: int, warmup: int, device: str) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_model(name: str, args) -> dict:
    spec = MODELS[name]
    torch.manual_seed(0)
    task_args = parse_config(spec["config"], _tokens(spec["vocab"]))
    model = AVSRTask.build_model(task_args).to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    batch = _batch(args.batch, args.frames, spec["vocab"], args.device)
    frames = args.batch * args.frames
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step():
        optim.zero_grad(set_to_none=True)
        with _autocast(args.device, args.dtype):
            loss, _, _ = model(**batch)
        loss.backward()
        optim.step()

    model.train()
    t_train = _median_time(train_step, args.rounds, args.warmup, args.device)
    del optim
    model.eval()

    @torch.no_grad()
    def infer_step():
        with _autocast(args.device, args.dtype):
            model.encode(video=batch["video"], video_lengths=batch["video_lengths"])

    t_infer = _median_time(infer_step, args.rounds, args.warmup, args.device)
    result = dict(
        model=name,
        params_m=round(n_params / 1e6, 2),
        device=args.device,
        dtype=args.dtype,
        threads=torch.get_num_threads(),
        batch=args.batch,
        frames=args.frames,
        train_step_s=round(t_train, 4),
        train_fps=round(frames / t_train, 1),
        infer_step_s=round(t_infer, 4),
        infer_fps=round(frames / t_infer, 1),
    )
    if name in args.decode:
        result.update(bench_decode(task_args, model, args))
    return result


def bench_decode(task_args, model, args) -> dict:
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from msrs.bin.avsr_inference import AVSRDecoder

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        with config.open("w") as f:
            yaml_no_alias_safe_dump(vars(copy.deepcopy(task_args)), f)
        weights = Path(tmp) / "model.pth"
        torch.save(model.state_dict(), weights)
        max_tokens = max(1, round(args.frames / FPS * args.tokens_per_second))
        decoder = AVSRDecoder(
            asr_train_config=str(config),
            asr_model_file=str(weights),
            beam_size=args.beam,
            ctc_weight=0.1,
            maxlenratio=-float(max_tokens),
            device=args.device,
            dtype="float32" if args.dtype == "float32" else args.dtype,
        )
    g = torch.Generator().manual_seed(1)
    utts = [
        dict(
            video=torch.rand(1, args.frames, 88, 88, generator=g) * 255,
            video_lengths=torch.tensor([args.frames]),
        )
        for _ in range(args.decode_utts)
    ]
    decoder.decode_batch(["warmup"], utts[0])
    _sync(args.device)
    lengths = []
    t0 = time.perf_counter()
    for i, utt in enumerate(utts):
        out = decoder.decode_batch([f"utt{i}"], utt)
        lengths.append(len(out[0][0][2]))
    _sync(args.device)
    elapsed = time.perf_counter() - t0
    media = args.decode_utts * args.frames / FPS
    return dict(
        decode_beam=args.beam,
        decode_utts=args.decode_utts,
        decode_max_tokens=max_tokens,
        decode_mean_tokens=round(sum(lengths) / len(lengths), 1),
        decode_s=round(elapsed, 3),
        decode_rtf=round(elapsed / media, 4),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", default="mini,paper", help="comma list of: " + ",".join(MODELS)
    )
    parser.add_argument(
        "--decode", default="mini", help="models whose decoding RTF is measured"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--dtype", default="float32", choices=["float32", "bfloat16", "float16"]
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument(
        "--frames", type=int, default=50, help="frames per utterance (25 fps)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--beam", type=int, default=10)
    parser.add_argument("--decode_utts", type=int, default=4)
    parser.add_argument("--tokens_per_second", type=float, default=3.6)
    parser.add_argument(
        "--json", type=str, default=None, help="also write results here"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.decode = [m for m in args.decode.split(",") if m]
    results = []
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            parser.error(f"unknown model {name!r}; choose from {list(MODELS)}")
        res = bench_model(name, args)
        results.append(res)
        print(json.dumps(res), flush=True)
    print(file=sys.stderr)
    for r in results:
        line = (
            f"{r['model']:>5} ({r['params_m']} M params, {r['device']}, {r['dtype']}, "
            f"{r['threads']} threads): train {r['train_fps']} frames/s, "
            f"inference {r['infer_fps']} frames/s"
        )
        if "decode_rtf" in r:
            line += (
                f", decoding RTF {r['decode_rtf']} (beam {r['decode_beam']}, "
                f"{r['decode_mean_tokens']} tokens/utt)"
            )
        print(line, file=sys.stderr)
    by_name = {r["model"]: r for r in results}
    if "mini" in by_name and "paper" in by_name:
        mini, paper = by_name["mini"], by_name["paper"]
        print(
            "paper/mini time per frame: "
            f"train {mini['train_fps'] / paper['train_fps']:.1f}x, "
            f"inference {mini['infer_fps'] / paper['infer_fps']:.1f}x",
            file=sys.stderr,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

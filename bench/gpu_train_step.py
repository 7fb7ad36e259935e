"""Training-step throughput and memory of the paper-size VSR model by precision.

For each variant, built from the LRS3 recipe's own configs through
``AVSRTask.build_model`` / ``build_optimizers`` (so sparsity is attached as in
training):

* ``dense``: ``egs/lrs3/conf/train_vsr_dense.yaml``;
* ``msrs_search``: ``train_vsr_msrs.yaml`` in its first (mask search) epoch;
* ``msrs_sparse``: ``train_vsr_msrs_sparse.yaml`` after its search epochs,
  in the sparse continuation (frozen binary mask, weights train);
* optionally ``avsr_dense`` / ``avsr_msrs_search`` (the AVSR configs, with
  16 kHz audio beside the video),

and each precision of ``--precisions``:

* ``fp32``: float32 with TF32 off (``use_amp: false``, ``use_tf32: false``;
  the Auto-AVSR-faithful reference);
* ``tf32``: float32 storage, TF32 matmuls and convolutions on Ampere+ GPUs
  (``use_tf32: true``; no effect on CPU);
* ``bf16``: autocast to bfloat16 (``use_amp: true``, which ESPnet runs in
  bf16 where the GPU supports it) with ESPnet's GradScaler,

it times ``--rounds`` training steps (forward with the CTC/attention loss and
the sparsity penalty, backward, gradient clipping, AdamW step) on a random
batch of ``--batch`` utterances x ``--utt_frames`` 88x88 frames after
``--warmup`` steps, and prints:

* **frames/s** of the step (median round);
* **peak memory**: on CUDA ``torch.cuda.max_memory_allocated`` over the
  steps; on CPU an estimate, the model state (weights, gradients and AdamW
  moments: the parameter bytes x 4) plus the bytes autograd saves for
  backward in one forward pass (measured with saved-tensor hooks, each
  storage counted once), which is what dominates a GPU's peak; with
  ``--project_utts N`` also projected linearly to N utterances per GPU (the
  activations of one utterance measured as the difference to a batch one
  utterance smaller); ``--rounds 0`` skips the timing;
* the dtype of the MSRS mask logits' gradients (they must stay float32
  under autocast).

``--launcher`` also runs two optimizer steps of the real training entry point
(``msrs.bin.avsr_train``) through ESPnet's launcher
(``espnet2.bin.launch --cmd utils/run.pl``) on a small synthetic dump: on a
GPU with ``--ngpu 1``, on CPU with ``--ngpu 0``; it reports the exit status
and wall time.  ESPnet never wraps a single process in DDP
(``espnet2.train.distributed_utils.resolve_distributed_mode``: distributed
only with more than one process), so this is the launcher and trainer path
of one GPU, not a DDP all-reduce; DDP itself is tested with two CPU
processes on gloo through torchrun (``test/bin/test_avsr_train.py``).

``--tiny`` swaps the architecture for the test-size one of
``msrs.tasks.avsr_testing`` (same sparsity configs, 2 x 30 frames), so the
whole script runs on CPU in seconds; CI runs it that way
(``test/bench/test_gpu_train_step.py``).  Nothing is asserted; numbers are
printed (and written as JSON with ``--json``)::

    python bench/gpu_train_step.py --device cuda --launcher       # one GPU
    python bench/gpu_train_step.py --tiny --launcher               # CPU check
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "egs" / "lrs3" / "conf"
VARIANTS = {
    "dense": "train_vsr_dense.yaml",
    "msrs_search": "train_vsr_msrs.yaml",
    "msrs_sparse": "train_vsr_msrs_sparse.yaml",
    "avsr_dense": "train_avsr_dense.yaml",
    "avsr_msrs_search": "train_avsr_msrs.yaml",
}
ARCH_KEYS = (
    "video_frontend_conf", "audio_frontend_conf", "fusion_conf",
    "encoder_conf", "decoder_conf", "preprocessor_conf",
)


def load_config(variant: str, tiny: bool) -> dict:
    """The recipe config of ``variant`` (tiny: test-size architecture)."""
    conf = yaml.safe_load((CONF / VARIANTS[variant]).read_text())
    if tiny:
        from msrs.tasks.avsr_testing import tiny_config

        small = tiny_config(conf.get("modality", "vsr"))
        for key in ARCH_KEYS:
            if key in small:
                conf[key] = small[key]
        conf["token_type"] = "char"
    return conf


def build(variant: str, tiny: bool, device: str):
    """Model (on ``device``), its optimizers and the vocabulary size."""
    from msrs.tasks.avsr import AVSRTask
    from msrs.tasks.avsr_testing import TOKENS, parse_config

    conf = load_config(variant, tiny)
    tokens = list(TOKENS) if tiny else (
        ["<blank>", "<unk>"] + [f"t{i}" for i in range(4997)] + ["<sos/eos>"]
    )
    torch.manual_seed(0)
    args = parse_config(conf, tokens)
    model = AVSRTask.build_model(args).to(device)
    optimizers = AVSRTask.build_optimizers(args, model)
    sp = getattr(model, "sparsity", None)
    if sp is not None:
        epoch = 1
        sp.start_epoch(epoch)
        if variant == "msrs_sparse":  # run the search epochs' bookkeeping to the freeze
            while sp.phase == "search" and epoch < 1000:
                sp.end_epoch(epoch)
                epoch += 1
                sp.start_epoch(epoch)
    return model, optimizers, len(tokens), args, sp


def random_batch(
    batch: int, frames: int, vocab: int, size: int, device: str, audio: bool = False
) -> dict:
    """Random 88x88 video (and 16 kHz audio for AVSR) with ~3.6 tokens/s."""
    g = torch.Generator().manual_seed(0)
    text_len = max(2, round(frames / 25 * 3.6))  # ~3.6 unigram-5000 tokens/s
    out = dict(
        video=(torch.rand(batch, frames, size, size, generator=g) * 255).to(device),
        video_lengths=torch.full((batch,), frames, dtype=torch.long, device=device),
        text=torch.randint(3, vocab - 1, (batch, text_len), generator=g).to(device),
        text_lengths=torch.full((batch,), text_len, dtype=torch.long, device=device),
    )
    if audio:
        out["speech"] = (torch.randn(batch, frames * 640, generator=g) * 0.1).to(device)
        out["speech_lengths"] = torch.full((batch,), frames * 640, dtype=torch.long, device=device)
    return out


def set_precision(precision: str, device: str):
    """TF32 switches and the autocast context of ``precision``."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    kind = device.split(":")[0]
    if precision == "bf16":
        return lambda: torch.autocast(device_type=kind, dtype=torch.bfloat16)
    return lambda: torch.autocast(device_type=kind, enabled=False)


def saved_bytes(model, batch, autocast) -> int:
    """Bytes autograd keeps for backward after one forward (storages once)."""
    seen = {}

    def pack(t):
        try:
            s = t.untyped_storage()
            seen[(s.data_ptr(), t.device)] = s.nbytes()
        except (RuntimeError, NotImplementedError):
            seen[id(t)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with autocast():
            loss, _, _ = model(**batch)
    del loss
    return sum(seen.values())


def bench_row(variant: str, precision: str, a) -> dict:
    model, optimizers, vocab, args, sp = build(variant, a.tiny, a.device)
    size = int(args.preprocessor_conf.get("crop_size", 88))
    audio = args.modality == "avsr"
    batch = random_batch(a.batch, a.utt_frames, vocab, size, a.device, audio)
    autocast = set_precision(precision, a.device)
    scaler = torch.amp.GradScaler(a.device.split(":")[0], enabled=False)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        for o in optimizers:
            o.zero_grad(set_to_none=True)
        with autocast():
            loss, _, _ = model(**batch)
        scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_norm_(params, args.grad_clip)
        for o in optimizers:
            scaler.step(o)
        scaler.update()

    cuda = a.device.startswith("cuda")
    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    logits = list(sp.logit_parameters) if sp is not None and sp.phase == "search" else []
    state = sum(p.numel() * p.element_size() for p in model.parameters()) * 4
    row = dict(
        variant=variant,
        precision=precision,
        device=a.device,
        threads=torch.get_num_threads(),
        params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        phase=sp.phase if sp is not None else "none",
        batch=a.batch,
        utt_frames=a.utt_frames,
        step_s=round(statistics.median(times), 4) if times else None,
        frames_per_s=round(a.batch * a.utt_frames / statistics.median(times), 1) if times else None,
        mask_logit_grad_dtype=str(logits[0].grad.dtype) if logits and logits[0].grad is not None else None,
    )
    if cuda:
        row["peak_bytes"] = torch.cuda.max_memory_allocated()
        row["peak_kind"] = "measured"
    else:
        act = saved_bytes(model, batch, autocast)
        row["peak_bytes"] = state + act
        row["peak_kind"] = "estimate (state + saved activations)"
        if a.project_utts:
            # activations grow linearly with the utterances of one length:
            # measure one utterance less and extrapolate
            one_less = random_batch(a.batch - 1, a.utt_frames, vocab, size, a.device, audio)
            per_utt = act - saved_bytes(model, one_less, autocast)
            row["projected_utts"] = a.project_utts
            row["projected_gb"] = round(
                (state + act + per_utt * (a.project_utts - a.batch)) / 1e9, 1)
    row["peak_gb"] = round(row["peak_bytes"] / 1e9, 3)
    del model, optimizers
    if cuda:
        torch.cuda.empty_cache()
    return row


def launcher_step(a) -> dict:
    """Two steps of msrs.bin.avsr_train through espnet2.bin.launch (run.pl)."""
    from msrs.tasks.avsr_testing import write_shape_files, write_tiny_corpus

    ngpu = 1 if a.device.startswith("cuda") else 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        size = 32 if a.tiny else 96
        corpus = write_tiny_corpus(tmp, sets=dict(train=8, valid=2), size=size)
        for name in ("train", "valid"):
            write_shape_files(corpus[name], tmp / "stats" / name, size=88 if not a.tiny else 28)
        conf = load_config("msrs_search", a.tiny)
        conf.update(token_type="char", batch_type="sorted", batch_size=4, max_epoch=1,
                    num_iters_per_epoch=2, num_workers=0, accum_grad=1)
        conf.pop("batch_bins", None)
        conf["scheduler_conf"] = dict(conf.get("scheduler_conf") or {}, first_cycle_steps=10, warmup_steps=1)
        conf["preprocessor_conf"] = dict(conf["preprocessor_conf"], crop_size=28 if a.tiny else 88)
        cfg = tmp / "c.yaml"
        cfg.write_text(yaml.safe_dump(conf))
        exp = tmp / "exp"
        train = [sys.executable, "-m", "msrs.bin.avsr_train", "--config", str(cfg),
                 "--token_list", str(corpus["token_list"]), "--output_dir", str(exp),
                 "--ngpu", str(ngpu), "--use_preprocessor", "true"]
        for phase in ("train", "valid"):
            d = corpus[phase]
            train += [f"--{phase}_data_path_and_name_and_type", f"{d}/video.scp,video,video",
                      f"--{phase}_data_path_and_name_and_type", f"{d}/text,text,text",
                      f"--{phase}_shape_file", f"{tmp}/stats/{phase}/video_shape"]
        cmd = [sys.executable, "-m", "espnet2.bin.launch", "--cmd", str(REPO / "utils" / "run.pl"),
               "--log", str(exp / "train.log"), "--ngpu", str(ngpu),
               "--multiprocessing_distributed", "true", "--"] + train
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.launcher_timeout,
                             env=dict(os.environ, OMP_NUM_THREADS="1"))
        wall = time.perf_counter() - t0
        log = (exp / "train.log").read_text() if (exp / "train.log").is_file() else ""
        ok = out.returncode == 0 and (exp / "1epoch.pth").is_file()
        if not ok:
            sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:] + log[-3000:])
    return dict(launcher="espnet2.bin.launch + utils/run.pl", ngpu=ngpu, ok=ok,
                returncode=out.returncode, wall_s=round(wall, 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tiny", action="store_true", help="test-size model (CPU, CI)")
    p.add_argument("--variants", default="dense,msrs_search,msrs_sparse",
                   help="comma list of: " + ",".join(VARIANTS))
    p.add_argument("--precisions", default="fp32,tf32,bf16")
    p.add_argument("--batch", type=int, default=None,
                   help="utterances per step (default: 21 x 150 frames = the VSR "
                        "config's ~3,150 frames per GPU of 4; tiny: 2)")
    p.add_argument("--utt_frames", type=int, default=None, help="frames per utterance")
    p.add_argument("--rounds", type=int, default=3, help="timed steps (0: memory only)")
    p.add_argument("--project_utts", type=int, default=0,
                   help="CPU: also project the memory to this many utterances per "
                   "GPU (needs --batch >= 2)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--launcher", action="store_true", help="also run the launcher step")
    p.add_argument("--launcher_timeout", type=int, default=600)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    a.batch = a.batch or (2 if a.tiny else 21)
    a.utt_frames = a.utt_frames or (30 if a.tiny else 150)
    rows = []
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    for variant in a.variants.split(","):
        if variant not in VARIANTS:
            p.error(f"unknown variant {variant!r}; choose from {list(VARIANTS)}")
        for precision in a.precisions.split(","):
            if precision not in ("fp32", "tf32", "bf16"):
                p.error(f"unknown precision {precision!r} (fp32, tf32, bf16)")
            row = bench_row(variant, precision, a)
            rows.append(row)
            print(json.dumps(row), flush=True)
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    result = {"steps": rows}
    if a.launcher:
        result["launcher"] = launcher_step(a)
        print(json.dumps(result["launcher"]), flush=True)
    print()
    print(f"{'variant':<17} {'precision':<9} {'phase':<7} {'frames/s':>9} {'peak GB':>8} "
          f"{'proj. GB':>8}  mask grad")
    for r in rows:
        fps = f"{r['frames_per_s']:.1f}" if r["frames_per_s"] is not None else "-"
        print(f"{r['variant']:<17} {r['precision']:<9} {r['phase']:<7} {fps:>9} "
              f"{r['peak_gb']:>8.3f} {r.get('projected_gb', '-'):>8}  "
              f"{r['mask_logit_grad_dtype'] or '-'}")
    print(f"{rows[0]['params_m']} M parameters; {a.batch} x {a.utt_frames} frames per step on "
          f"{a.device}; peak: {rows[0]['peak_kind']}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return 0 if not a.launcher or result["launcher"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

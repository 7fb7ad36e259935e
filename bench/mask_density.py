"""MSRS mask density after a fixed number of steps, at several model sizes, same settings.

Builds VSR models of three sizes with ``AVSRTask.build_model`` from the
recipes' YAML configs -- ``mini`` (egs/mini_lrs3, 0.44 M parameters),
``medium`` (the mini config widened to ~10 M) and ``paper`` (egs/lrs3's
250 M-parameter config; CPU memory ~13 GB) -- attaches MSRS with one set of
options (``--sparsity_conf``; the configs' own MSRS options are not used), and trains each
for ``--steps`` AdamW steps (constant ``--lr``, the config's betas, weight
decay and grad clip) on the same kind of data: a fixed pool of synthetic lip
videos at each model's crop size with fixed token targets (the models learn
to fit them, so the task gradients are real).  Prints the hard-mask density
every ``--every`` steps and a final table; ``--json`` writes the numbers.

Usage::

    python bench/mask_density.py [--sizes mini medium paper] [--steps 60]
        [--sparsity_conf '{penalty_weight: 0.1}'] [--json out.json]
"""

import argparse
import json
import time
from pathlib import Path

import torch
import yaml

from msrs.tasks.avsr_testing import TOKENS, parse_config, random_batch
from msrs.utils.espnet_import import import_espnet

import_espnet("espnet2.tasks.asr")
from msrs.tasks.avsr import AVSRTask  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "mini": ROOT / "egs/mini_lrs3/conf/train_vsr_msrs.yaml",
    "medium": ROOT / "egs/mini_lrs3/conf/train_vsr_msrs.yaml",
    "paper": ROOT / "egs/lrs3/conf/train_vsr_msrs.yaml",
}
MEDIUM = {  # the mini model widened and deepened to ~10 M parameters
    "video_frontend_conf": {"stem_channels": 32, "channels": [32, 64, 128, 256], "blocks": [1, 1, 1, 1]},
    "encoder_conf": {"output_size": 256, "linear_units": 1024, "num_blocks": 6},
    "decoder_conf": {"linear_units": 1024, "num_blocks": 2},
}
DEFAULT_SEARCH = {
    "phases": [{"name": "search", "end": 100000, "unit": "step", "freeze": None,
                "temperature": {"start": 1.0, "end": 1.0, "schedule": "constant"}}, {"name": "dense"}],
}


def build(size: str, sparsity_conf: dict):
    conf = yaml.safe_load(CONFIGS[size].read_text())
    if size == "medium":
        for key, upd in MEDIUM.items():
            conf[key] = {**conf[key], **upd}
    conf["sparsity_conf"] = {**DEFAULT_SEARCH, **sparsity_conf}  # the same settings at every size
    conf.pop("grad_flow_interval", None)
    args = parse_config(conf, TOKENS)
    model = AVSRTask.build_model(args)
    args.optim_conf = {**args.optim_conf, "lr": ARGS.lr}
    optimizer = AVSRTask.build_optimizers(args, model)[0]
    return model, optimizer, conf


def main():
    model_sizes = {}
    results = {}
    for size in ARGS.sizes:
        torch.manual_seed(0)
        model, opt, conf = build(size, ARGS.sparsity_conf)
        sp = model.sparsity
        crop = conf["preprocessor_conf"]["crop_size"]
        pool = [random_batch("vsr", lengths=(ARGS.frames, ARGS.frames - 3), size=crop, seed=i) for i in range(4)]
        n = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in sp.logit_parameters)
        model_sizes[size] = n
        print(f"[{size}] {n / 1e6:.2f} M parameters, {sp.num_target_weights / 1e6:.2f} M masked, crop {crop}", flush=True)
        curve = []
        t0 = time.time()
        model.train()
        for step in range(1, ARGS.steps + 1):
            loss, stats, _ = model(**pool[step % len(pool)])
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad and p.grad is not None
                                            and all(p is not q for q in sp.logit_parameters)], conf["grad_clip"])
            opt.step()
            opt.zero_grad()
            if step % ARGS.every == 0 or step == ARGS.steps:
                d = sp.global_density()
                curve.append((step, d))
                print(f"[{size}] step {step:4d}  loss {loss.item():7.3f}  density {d:.3f}  "
                      f"lambda {sp._s['penalty_lambda']:.3f}  {time.time() - t0:6.1f} s", flush=True)
        results[size] = {"parameters": n, "masked": sp.num_target_weights, "curve": curve,
                         "density": curve[-1][1], "seconds": time.time() - t0}
        del model, opt, sp
    print("\nsize     parameters  masked     density after %d steps" % ARGS.steps)
    for size, r in results.items():
        print(f"{size:<8} {r['parameters'] / 1e6:8.2f} M  {r['masked'] / 1e6:7.2f} M  {r['density']:.3f}")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"args": vars(ARGS), "results": results}, indent=2) + "\n")


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["mini", "medium", "paper"], choices=list(CONFIGS))
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--frames", type=int, default=12, help="frames per utterance (2 per batch)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--sparsity_conf", type=yaml.safe_load, default={},
                   help="MSRS options (YAML dict), the same for every size")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", default=None)
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse()
    if ARGS.threads:
        torch.set_num_threads(ARGS.threads)
    main()

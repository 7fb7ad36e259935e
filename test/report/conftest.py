"""A synthetic ``exp`` tree: real ESPnet Reporter state, jsonl logs, scores.json."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from espnet2.train.reporter import Reporter

LAYERS = [
    f"encoder.encoders.{i}.feed_forward.w_{j}.weight" for i in range(6) for j in (1, 2)
]
N_EPOCHS = 6
FREEZE_EPOCH = 3


def write_reporter_checkpoint(run: Path, n_epochs: int = N_EPOCHS) -> Reporter:
    """Drive a real ESPnet Reporter like the trainer does and save checkpoint.pth."""
    reporter = Reporter()
    for epoch in range(1, n_epochs + 1):
        reporter.set_epoch(epoch)
        with reporter.observe("train") as sub:
            for it in range(3):
                sub.register(
                    {
                        "loss": torch.tensor(100.0 / epoch + it),
                        "loss_att": 70.0 / epoch,
                        "loss_ctc": 130.0 / epoch,
                        "acc": 1.0 - 0.8 / epoch,
                    },
                    weight=4,
                )
                sub.next()
        with reporter.observe("valid") as sub:
            sub.register({"loss": 110.0 / epoch, "acc": 0.95 - 0.8 / epoch}, weight=2)
            sub.next()
    torch.save(
        {
            "model": {"encoder.w": torch.zeros(30, 10), "step": torch.tensor(5)},
            "reporter": reporter.state_dict(),
            "optimizers": [],
            "schedulers": [None],
            "scaler": None,
        },
        run / "checkpoint.pth",
    )
    return reporter


def write_config(run: Path, sparsity: bool) -> None:
    config = {
        "output_dir": str(run),
        "max_epoch": 10,
        "token_type": "bpe",
        "token_list": ["<blank>", "<unk>", "A", "B", "<sos/eos>"],
        "train_data_path_and_name_and_type": [
            ["dump/train/video.scp", "video", "video"],
            ["dump/train/wav.scp", "speech", "sound"],
            ["dump/train/text", "text", "text"],
        ],
        "encoder": "conformer",
        "encoder_conf": {
            "num_blocks": 6,
            "output_size": 256,
            "attention_heads": 4,
            "linear_units": 1024,
        },
        "decoder": "transformer",
        "decoder_conf": {"num_blocks": 3},
        "model_conf": {"ctc_weight": 0.1},
        "optim": "adamw",
        "optim_conf": {"lr": 0.001},
        "scheduler": "warmuplr",
        "sparsity": "msrs" if sparsity else None,
        "sparsity_conf": (
            {
                "target_density": 0.5,
                "mask_epochs": FREEZE_EPOCH,
                "after_freeze": "sparse",
            }
            if sparsity
            else {}
        ),
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def write_sparsity_logs(run: Path) -> None:
    with (run / "sparsity.jsonl").open("w") as f:
        for epoch in range(1, N_EPOCHS + 1):
            phase = "search" if epoch <= FREEZE_EPOCH else "sparse"
            layers = {
                name: max(
                    0.2, 1.0 - 0.12 * min(epoch, FREEZE_EPOCH) * (1 + i / len(LAYERS))
                )
                for i, name in enumerate(LAYERS)
            }
            rec = {
                "epoch": epoch,
                "phase": phase,
                "step": 100 * epoch,
                "phase_index": int(phase == "sparse"),
                "temperature": 1.0 / epoch if phase == "search" else None,
                "global_density": float(np.mean(list(layers.values()))),
                "flip_rate": 0.1 / epoch,
                "penalty": 0.01 if phase == "search" else None,
                "layers": layers,
            }
            f.write(json.dumps(rec) + "\n")
        f.write('{"epoch": 7, "phase": "spa')  # a job killed mid-write
    with (run / "grad_flow.jsonl").open("w") as f:
        for step in range(0, 600, 20):
            epoch = step // 100 + 1
            layers = {
                name: math.exp(-0.15 * i) * (1 + 0.5 * math.sin(step / 50.0)) * 0.1
                for i, name in enumerate(LAYERS)
            }
            rec = {
                "step": step,
                "epoch": epoch,
                "phase": "search" if epoch <= FREEZE_EPOCH else "sparse",
                "tag": "interval",
                "global_norm": sum(v * v for v in layers.values()) ** 0.5,
                "egf": 0.5 + 0.1 * math.cos(step / 80.0),
                "layers": layers,
            }
            f.write(json.dumps(rec) + "\n")
    # The layout msrs.sparse.trainer writes (freeze_record() + "events").
    events = {
        "method": "msrs",
        "phases": [
            {"name": "search", "end": "stable", "unit": "epoch"},
            {"name": "sparse", "end": None, "unit": "epoch"},
        ],
        "frozen": True,
        "freeze_epoch": FREEZE_EPOCH,
        "freeze_step": 300,
        "density_at_freeze": 0.61,
        "events": [
            {"type": "freeze", "epoch": FREEZE_EPOCH, "step": 300, "phase": "search"}
        ],
    }
    (run / "sparsity_events.json").write_text(json.dumps(events))


def write_scores(d: Path, wer: float, cer: float, name: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    counts = lambda err: {  # noqa: E731
        "n_snt": 10,
        "n_ref": 100,
        "n_hyp": 100,
        "corr": 100 - int(err),
        "sub": int(err),
        "del": 0,
        "ins": 0,
        "err": int(err),
        "snt_err": 5,
        "rates": {
            "corr": 100 - err,
            "sub": err,
            "del": 0.0,
            "ins": 0.0,
            "err": err,
            "snt_err": 50.0,
        },
    }
    scores = {
        "name": name,
        "n_utts": 10,
        "wer": wer,
        "cer": cer,
        "word": counts(wer),
        "char": counts(cer),
    }
    (d / "scores.json").write_text(json.dumps(scores))


def make_fake_exp(root: Path) -> Path:
    """exp/ with an MSRS run (all inputs), a dense run (no sparsity logs), a stats dir."""
    exp = root / "exp"
    sparse = exp / "avsr_msrs"
    dense = exp / "avsr_dense"
    for run in (sparse, dense):
        run.mkdir(parents=True)
    write_config(sparse, sparsity=True)
    write_reporter_checkpoint(sparse)
    write_sparsity_logs(sparse)
    write_config(dense, sparsity=False)
    # The dense run lost its checkpoint.pth: statistics come from train.log.
    reporter = Reporter()
    lines = []
    for epoch in (1, 2, 3):
        reporter.set_epoch(epoch)
        with reporter.observe("train") as sub:
            sub.register({"loss": 90.0 / epoch, "acc": 0.5 + 0.1 * epoch})
            sub.next()
        with reporter.observe("valid") as sub:
            sub.register({"loss": 95.0 / epoch, "acc": 0.45 + 0.1 * epoch})
            sub.next()
        lines.append(f"[host] 2026-01-01 (trainer:350) INFO: {reporter.log_message()}")
    (dense / "train.log").write_text("\n".join(lines) + "\n")
    # collect-stats directory: has config.yaml + train.log but is no model.
    stats = exp / "asr_stats"
    stats.mkdir()
    (stats / "config.yaml").write_text(yaml.safe_dump({"collect_stats": True}))
    (stats / "train.log").write_text("")
    for snr, (w, c) in {
        None: (10.0, 4.0),
        10: (20.0, 9.0),
        0: (45.0, 25.0),
        -5: (70.0, 40.0),
    }.items():
        suffix = "" if snr is None else f"_snr{snr}"
        write_scores(sparse / f"decode_beam10_test{suffix}", w, c, f"msrs{suffix}")
        # avsr.sh naming: <inference tag>_<test set>_{clean,snr<N>}/score
        cond = "_clean" if snr is None else suffix
        write_scores(
            dense / f"decode_beam10_test{cond}" / "score", w + 5, c + 2, f"dense{cond}"
        )
    return exp


@pytest.fixture
def fake_exp(tmp_path: Path) -> Path:
    return make_fake_exp(tmp_path)

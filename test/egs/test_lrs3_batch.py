"""Per-GPU batch sizes of the LRS3 recipe: --batch_bins_per_gpu and the logged figure."""

import subprocess
import sys
from pathlib import Path

from egs_recipe import ROOT, copy_recipe, recipe_env

LOCAL = ROOT / "egs" / "lrs3" / "local"


def test_schedule_args_logs_the_per_gpu_batch(tmp_path):
    # 100 utterances of 100 frames (+ 10 tokens each): 11,000 bins of length
    video = tmp_path / "video_shape"
    video.write_text("".join(f"u{i:03d} 100,88,88\n" for i in range(100)))
    text = tmp_path / "text_shape.bpe"
    text.write_text("".join(f"u{i:03d} 10,5000\n" for i in range(100)))
    out = subprocess.run(
        [sys.executable, str(LOCAL / "schedule_args.py"),
         "--config", str(ROOT / "egs/lrs3/conf/train_vsr_msrs.yaml"),
         "--shape_file", str(video), "--shape_file", str(text), "--world_size", "4",
         "--train_args", "--batch_bins 2200 --accum_grad 1"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    # global 2,200 bins over 4 GPUs; 20 utterances of 110 bins per batch -> 5 batches
    assert "batch_bins 2200 is the global batch" in out.stderr
    assert "about 550 bins per GPU per step" in out.stderr
    assert "5 batches of 500 frames per GPU on average" in out.stderr
    assert "first_cycle_steps=375" in out.stdout  # 5 updates x 75 epochs


def test_batch_bins_per_gpu_scales_with_the_gpus(tmp_path):
    rec = copy_recipe("lrs3", tmp_path)

    def run(*args):
        return subprocess.run(
            ["bash", "./run.sh", "--stage", "12", "--stop_stage", "11", *args],
            cwd=rec, env=recipe_env(LRS3=str(tmp_path)), capture_output=True,
            text=True, timeout=120,
        )

    ok = run("--ngpu", "8", "--num_nodes", "2", "--batch_bins_per_gpu", "3500")
    assert "batch_bins 3500 per GPU x 16 GPU(s) = 56000" in ok.stdout, ok.stdout + ok.stderr
    bad = run("--batch_bins_per_gpu", "3.5k")
    assert bad.returncode == 2
    assert "--batch_bins_per_gpu must be a positive integer, got '3.5k'" in bad.stdout

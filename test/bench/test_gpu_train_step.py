"""bench/gpu_train_step.py --tiny runs every variant, precision and the launcher on CPU."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_train_step.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_train_step", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_tiny_run_covers_variants_precisions_and_the_launcher(tmp_path):
    out = tmp_path / "r.json"
    args = ["--tiny", "--device", "cpu", "--rounds", "1", "--warmup", "0",
            "--launcher", "--json", str(out)]
    assert _bench().main(args) == 0
    result = json.loads(out.read_text())
    rows = {(r["variant"], r["precision"]): r for r in result["steps"]}
    assert len(rows) == 9
    phases = {"dense": "none", "msrs_search": "search", "msrs_sparse": "sparse"}
    for (variant, precision), r in rows.items():
        assert r["phase"] == phases[variant]
        assert r["frames_per_s"] > 0 and r["peak_bytes"] > 0
    # MSRS mask logits keep float32 gradients under bf16 autocast
    for precision in ("fp32", "tf32", "bf16"):
        assert rows["msrs_search", precision]["mask_logit_grad_dtype"] == "torch.float32"
    # bf16 autocast saves smaller activations than fp32
    for variant in phases:
        assert rows[variant, "bf16"]["peak_bytes"] < rows[variant, "fp32"]["peak_bytes"]
    assert result["launcher"]["ok"] and result["launcher"]["returncode"] == 0

"""bench/sparse_overhead.py: the --dtype option runs on CPU and keeps the last line's format."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_tiny_run_prints_the_ratio_line(dtype):
    cmd = [sys.executable, str(REPO / "bench" / "sparse_overhead.py"), "--blocks", "1", "--dim", "96",
           "--batch", "2", "--frames", "12", "--accum_grad", "1", "--rounds", "2", "--threads", "1",
           "--dtype", dtype]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert f"cpu, {dtype}," in out.stdout
    assert re.fullmatch(r"search/dense=\d+\.\d{3} sparse/dense=\d+\.\d{3}", lines[-1])

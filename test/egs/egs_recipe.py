"""Copies of a recipe for the integration tests, laid out as in ``egs/``."""

import os
import shutil
import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parents[2]


def copy_recipe(name: str, tmp: Path) -> Path:
    """Copy ``egs/<name>`` into ``tmp/<name>``: its own files copied, the shared
    pieces (``utils``, ``avsr.sh``, ``path.sh``, ``cmd.sh``) linked back."""
    src = ROOT / "egs" / name
    rec = tmp / name
    rec.mkdir()
    for f in ("run.sh", "db.sh"):
        shutil.copy2(src / f, rec / f)
    for d in ("conf", "local"):
        shutil.copytree(src / d, rec / d)
    (rec / "cmd.sh").symlink_to(ROOT / "utils" / "cmd.sh.example")
    (rec / "utils").symlink_to(ROOT / "utils")
    (rec / "avsr.sh").symlink_to(ROOT / "egs" / "TEMPLATE" / "avsr.sh")
    (rec / "path.sh").symlink_to(ROOT / "egs" / "TEMPLATE" / "path.sh")
    return rec


def recipe_env(**extra: str) -> Dict[str, str]:
    """The environment with this interpreter's venv first on ``PATH``."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    env.update(extra)
    return env


def run_script(rec: Path, script: str, *args: str, timeout: int, **env: str) -> str:
    """Run ``bash ./<script> ARGS`` in ``rec`` (venv first on ``PATH``, ``env`` added);
    assert it exits 0 (the log's tail in the message) and return its output."""
    import subprocess

    proc = subprocess.run(
        ["bash", f"./{script}", *args], cwd=rec, env=recipe_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout

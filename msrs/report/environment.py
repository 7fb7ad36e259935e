"""Versions, hardware and git revision, for RESULTS.md and model archives.

Nothing here raises: an unavailable item reads ``"unknown"``.  Git is queried
read-only (``--no-optional-locks``, so not even the index stat cache is
rewritten).
"""

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

PACKAGES = ("msrs", "torch", "torchaudio", "espnet", "sentencepiece", "numpy")


def package_version(name: str) -> str:
    """Installed distribution version, or ``"unknown"``."""
    if name == "msrs":
        try:
            import msrs

            return msrs.__version__
        except Exception:  # pragma: no cover - msrs is importable here
            return "unknown"
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cpu_model() -> str:
    """CPU model name (``/proc/cpuinfo`` on Linux) with the logical core count."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown"
    return f"{name} ({os.cpu_count()} logical cores)"


def gpu_models() -> str:
    """CUDA devices seen by torch, e.g. ``"2 x NVIDIA H100 80GB HBM3"``."""
    try:
        import torch

        if not torch.cuda.is_available():
            return "none (CUDA not available)"
        names = [
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
        ]
    except Exception as e:  # a broken driver must not break a report
        return f"unknown ({type(e).__name__})"
    counts: Dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return ", ".join(f"{c} x {n}" for n, c in counts.items())


def _git(root: Path, args: Sequence[str]) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_revision(root: Optional[Union[str, Path]] = None) -> Dict[str, object]:
    """Git revision of a work tree.

    Args:
        root: a directory inside the work tree; default: the msrs source tree
            (the code that ran), else the current directory.

    Returns:
        ``{"revision": sha or "unknown", "dirty": bool or None, "root": str}``;
        ``dirty`` ignores untracked files.
    """
    candidates = [Path(root)] if root is not None else []
    if root is None:
        import msrs

        candidates += [Path(msrs.__file__).resolve().parent, Path.cwd()]
    for cand in candidates:
        top = _git(cand, ["rev-parse", "--show-toplevel"])
        if not top:
            continue
        rev = _git(cand, ["rev-parse", "HEAD"]) or "unknown"
        status = _git(cand, ["status", "--porcelain", "--untracked-files=no"])
        return {
            "revision": rev,
            "dirty": bool(status) if status is not None else None,
            "root": top,
        }
    return {
        "revision": "unknown",
        "dirty": None,
        "root": str(candidates[0]) if candidates else "",
    }


def collect_environment(
    git_root: Optional[Union[str, Path]] = None,
) -> Dict[str, object]:
    """Everything RESULTS.md / meta.yaml record about the environment.

    Returns:
        ``{"date", "python", "platform", "cpu", "gpu", "versions": {pkg: v},
        "git": {"revision", "dirty", "root"}}``.
    """
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "gpu": gpu_models(),
        "versions": {p: package_version(p) for p in PACKAGES},
        "git": git_revision(git_root),
    }

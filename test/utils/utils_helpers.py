"""Helpers shared by the tests of the shell tools in ``utils/``.

The tools are driven through ``subprocess`` on temporary directories, exactly
as recipes call them.  They must not need the msrs venv, so ``PATH`` is the
system one (the venv's ``bin`` is not prepended).
"""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
UTILS = REPO / "utils"
# The base interpreter behind the venv: first on PATH so that `env python3` in
# the tools skips shims (pyenv) that cost ~0.1 s per call.  The tools only use
# the standard library; test_tools_common checks them without the venv.
REAL_PYTHON_DIR = os.path.dirname(os.path.realpath(sys.executable))


def tool(name: str) -> str:
    """Absolute path of a tool in utils/."""
    return str(UTILS / name)


def run(
    name: str,
    *args: str,
    cwd: Optional[Path] = None,
    env: Optional[Dict[str, str]] = None,
    input: Optional[bytes] = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """Runs ``utils/<name> args...``; returns the completed process (text output)."""
    full_env = dict(os.environ)
    full_env["PATH"] = f"{REAL_PYTHON_DIR}:{full_env['PATH']}"
    full_env.update(env or {})
    p = subprocess.run(
        [tool(name), *args],
        cwd=str(cwd) if cwd else None,
        env=full_env,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


def write(path: Path, text: str) -> Path:
    """Writes ``text`` (dedented) to ``path``, creating directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def make_exec(path: Path, text: str) -> Path:
    write(path, text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def read_table(path: Path) -> Dict[str, str]:
    """``key -> rest of line`` of a data file."""
    out = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(" ")
        out[key] = rest
    return out


def make_data_dir(
    d: Path,
    utts: Sequence[str],
    segments: bool = False,
    files: Sequence[str] = (
        "video.scp",
        "wav.scp",
        "text",
        "utt2spk",
        "spk2utt",
        "utt2dur",
    ),
) -> Path:
    """Writes a valid, sorted data dir; utterance ``S_r_c[_k]`` has speaker ``S``.

    With ``segments``, an utterance ``S_r_c_k`` belongs to recording ``S_r_c``.
    """
    d.mkdir(parents=True, exist_ok=True)
    utts = sorted(utts)
    spk = {u: u.split("_")[0] for u in utts}
    reco = {u: ("_".join(u.split("_")[:3]) if segments else u) for u in utts}
    recos = sorted(set(reco.values()))
    content = {
        "video.scp": [f"{r} /corpus/{r}.mp4" for r in recos],
        "wav.scp": [f"{r} /corpus/{r}.mp4" for r in recos],
        "text": [f"{u} WORDS OF {u.upper()}" for u in utts],
        "utt2spk": [f"{u} {spk[u]}" for u in utts],
        "utt2dur": [f"{u} 1.5" for u in utts],
        "utt2num_frames": [f"{u} 38" for u in utts],
    }
    by_spk: Dict[str, list] = {}
    for u in utts:
        by_spk.setdefault(spk[u], []).append(u)
    content["spk2utt"] = [f"{s} {' '.join(us)}" for s, us in sorted(by_spk.items())]
    if segments:
        starts: Dict[str, int] = {}
        seg = []
        for u in utts:
            k = starts.get(reco[u], 0)
            starts[reco[u]] = k + 2
            seg.append(f"{u} {reco[u]} {k}.00 {k + 1.5:.2f}")
        content["segments"] = seg
    for name in list(files) + (["segments"] if segments else []):
        (d / name).write_text("".join(line + "\n" for line in content[name]))
    return d

"""Properties every tool in utils/ must have; cmd.sh.example and slurm.conf.example."""

import ast
import json
import os
import subprocess
import sys

import pytest

from utils_helpers import UTILS, run, write

EXECUTABLES = [
    "run.pl",
    "slurm.pl",
    "split_scp.sh",
    "filter_scp.sh",
    "utt2spk_to_spk2utt.sh",
    "spk2utt_to_utt2spk.sh",
    "validate_data_dir.sh",
    "fix_data_dir.sh",
    "subset_data_dir.sh",
    "combine_data.sh",
    "copy_data_dir.sh",
]


@pytest.mark.parametrize("name", EXECUTABLES)
def test_executable_with_help_and_documented(name):
    path = UTILS / name
    assert os.access(path, os.X_OK), f"{name} is not executable"
    p = run(name, "--help")
    assert p.returncode == 0, p.stderr
    assert name in p.stdout
    assert f"`{name}" in (UTILS / "README.md").read_text()


@pytest.mark.parametrize("name", EXECUTABLES)
def test_bad_usage_fails(name):
    p = run(name, "--definitely-not-an-option", "x", "y")
    assert p.returncode != 0
    assert p.stderr.strip()


def python_sources():
    files = sorted((UTILS / "lib").glob("*.py")) + [
        UTILS / "run.pl",
        UTILS / "slurm.pl",
    ]
    return [
        f for f in files if f.read_text().startswith(("#!/usr/bin/env python3", '"""'))
    ]


@pytest.mark.parametrize("path", python_sources(), ids=lambda p: p.name)
def test_python_tools_use_only_the_standard_library(path):
    tree = ast.parse(path.read_text())
    local = {p.stem for p in (UTILS / "lib").glob("*.py")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods = [node.module]
        else:
            continue
        for m in mods:
            top = m.split(".")[0]
            assert (
                top in sys.stdlib_module_names or top in local or top == "__future__"
            ), f"{path.name}: {m}"


def test_tools_run_with_a_minimal_environment(tmp_path):
    """No venv, no PYTHONPATH: only a plain PATH with python3 and coreutils."""
    py_dir = os.path.dirname(
        subprocess.run(
            ["bash", "-c", "command -v python3"],
            stdout=subprocess.PIPE,
            universal_newlines=True,
        ).stdout.strip()
    )
    env = {"PATH": f"{py_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    (tmp_path / "utt2spk").write_text("a_1 a\n")
    p = subprocess.run(
        [str(UTILS / "utt2spk_to_spk2utt.sh"), str(tmp_path / "utt2spk")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
    )
    assert p.returncode == 0 and p.stdout == "a a_1\n", p.stderr
    p = subprocess.run(
        [str(UTILS / "run.pl"), "l.log", "true"],
        env=env,
        cwd=str(tmp_path),
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
    )
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_cmd_sh_example_selects_backend(backend):
    script = f'cmd_backend={backend}; . {UTILS}/cmd.sh.example; echo "$train_cmd|$cuda_cmd|$decode_cmd"'
    p = subprocess.run(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    )
    cmds = p.stdout.strip().split("|")
    assert len(cmds) == 3
    runner = "utils/run.pl" if backend == "local" else "utils/slurm.pl"
    assert all(c.split()[0] == runner for c in cmds)


def test_cmd_sh_variables_are_not_script_options(tmp_path):
    script = f". {UTILS}/cmd.sh.example; stage=1; . {UTILS}/parse_options.sh; echo stage=$stage"
    p = subprocess.run(
        ["bash", "-c", script, "x", "--stage", "2"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
    )
    assert p.stdout == "stage=2\n"
    for opt in ("--cmd_backend", "--train_cmd"):
        p = subprocess.run(
            ["bash", "-c", script, "x", opt, "slurm"],
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        assert p.returncode == 1 and f"unknown option {opt}" in p.stderr


def test_cmd_sh_example_rejects_unknown_backend():
    p = subprocess.run(
        ["bash", "-c", f"cmd_backend=pbs; . {UTILS}/cmd.sh.example && echo loaded"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    assert "loaded" not in p.stdout and "unknown cmd_backend='pbs'" in p.stderr


def test_slurm_conf_example_is_valid(tmp_path, fake_slurm):
    conf = (
        (UTILS / "slurm.conf.example")
        .read_text()
        .replace("poll_interval = 30", "poll_interval = 0")
    )
    write(tmp_path / "conf/slurm.conf", conf)
    p = run(
        "slurm.pl",
        "--gpu",
        "1",
        "log/x.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 0, p.stderr
    argv = json.loads((fake_slurm["calls"] / "sbatch").read_text())
    assert "--account=myproject" in argv and "gpu" in argv and "2-00:00:00" in argv

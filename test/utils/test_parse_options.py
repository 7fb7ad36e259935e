"""utils/parse_options.sh, sourced by a small script as recipes do."""

import subprocess
from pathlib import Path

import pytest

from utils_helpers import UTILS, make_exec, write

SCRIPT = f"""
#!/usr/bin/env bash
set -euo pipefail
stage=1            # first stage to run
stop_stage=100     # last stage to run
use_video=true     # train on the video stream
asr_args=""
tag='my tag'
declare -a sets=(train valid)
help_message="Usage: $0 [options] <data-dir>"
. {UTILS}/parse_options.sh
printf 'stage=%s\\nstop_stage=%s\\nuse_video=%s\\nasr_args=%s\\ntag=%s\\nnargs=%s\\n' \\
    "$stage" "$stop_stage" "$use_video" "$asr_args" "$tag" "$#"
for a in "$@"; do printf 'arg=%s\\n' "$a"; done
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return make_exec(tmp_path / "recipe.sh", SCRIPT)


def call(script: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script), *args],
        cwd=script.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
        env=env,
    )


def values(p: subprocess.CompletedProcess) -> dict:
    out = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition("=")
        out.setdefault(k, []).append(v)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def test_defaults_untouched(script):
    p = call(script)
    assert p.returncode == 0, p.stderr
    assert values(p) == {
        "stage": "1",
        "stop_stage": "100",
        "use_video": "true",
        "asr_args": "",
        "tag": "my tag",
        "nargs": "0",
    }


def test_space_and_equals_forms_dashes_and_positionals(script):
    p = call(
        script,
        "--stage",
        "3",
        "--stop-stage=5",
        "--asr_args",
        "--foo 1 --bar",
        "--tag=a=b c",
        "data/train",
        "--not-an-option",
    )
    assert p.returncode == 0, p.stderr
    v = values(p)
    assert v["stage"] == "3"
    assert v["stop_stage"] == "5"
    assert v["asr_args"] == "--foo 1 --bar"
    assert v["tag"] == "a=b c"
    assert v["nargs"] == "2"
    assert v["arg"] == ["data/train", "--not-an-option"]


def test_double_dash_ends_options(script):
    p = call(script, "--stage", "2", "--", "--stop_stage", "7")
    assert p.returncode == 0, p.stderr
    v = values(p)
    assert v["stop_stage"] == "100" and v["arg"] == ["--stop_stage", "7"]


@pytest.mark.parametrize(
    "opt", ["--bogus", "--PATH", "--sets", "--help_message", "--HOME"]
)
def test_unknown_option_is_named(script, opt):
    p = call(script, opt, "x")
    assert p.returncode == 1
    assert f"unknown option {opt}" in p.stderr
    assert "stage=" not in p.stdout


def test_exported_environment_variable_is_not_an_option(script):
    import os

    env = dict(os.environ, http_proxy="http://proxy:1")
    p = call(script, "--http_proxy", "x", env=env)
    assert p.returncode == 1 and "unknown option --http_proxy" in p.stderr


def test_missing_value(script):
    p = call(script, "--stage")
    assert p.returncode == 1 and "option --stage needs a value" in p.stderr


@pytest.mark.parametrize("arg", [["--use_video", "yes"], ["--use-video=1"]])
def test_bool_options_accept_only_true_false(script, arg):
    p = call(script, *arg)
    assert p.returncode == 1
    assert "--use_video expects true or false" in p.stderr
    assert call(script, "--use_video", "false").stdout.count("use_video=false") == 1


def test_help_lists_every_option_with_default(script):
    p = call(script, "--stage", "4", "--help", "--bogus")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith("Usage: ")
    lines = [ln.split() for ln in out.splitlines() if ln.startswith("  --")]
    names = [ln[0] for ln in lines]
    # definition order, current values, comments as descriptions
    assert names[:5] == [
        "--stage",
        "--stop_stage",
        "--use_video",
        "--asr_args",
        "--tag",
    ]
    assert lines[0][1] == "4" and "first stage to run" in out
    assert lines[3][1] == '""'
    assert "--sets" not in names and "--help_message" not in names
    assert "stage=" not in out.split("Options")[0]
    assert call(script, "-h").returncode == 0


def test_config_file_is_read_before_other_options(script, tmp_path):
    conf = write(
        tmp_path / "conf" / "run.conf",
        """
        # comment
        stage=7

        stop_stage=9   # trailing comment
        asr_args="--x 1"
        """,
    )
    p = call(script, "--stop_stage", "12", "--config", str(conf), "pos")
    assert p.returncode == 0, p.stderr
    v = values(p)
    assert (v["stage"], v["stop_stage"], v["asr_args"], v["arg"]) == (
        "7",
        "12",
        "--x 1",
        "pos",
    )
    for args in ([f"--config={conf}", "--help"], ["--help", "--config", str(conf)]):
        p = call(script, *args)
        assert p.returncode == 0 and "--stage                  7" in p.stdout


@pytest.mark.parametrize(
    "content,message",
    [
        ("stage=1\nstagee=2\n", "run.conf:2: unknown option 'stagee'"),
        ("stage 3\n", "run.conf:1: expected name=value"),
        ("use_video=maybe\n", "--use_video expects true or false, got 'maybe'"),
    ],
)
def test_bad_config_file(script, tmp_path, content, message):
    conf = tmp_path / "run.conf"
    conf.write_text(content)
    p = call(script, "--config", str(conf))
    assert p.returncode == 1
    assert message in p.stderr


def test_missing_config_file(script):
    p = call(script, "--config", "nope.conf")
    assert p.returncode == 1 and "--config nope.conf: no such readable file" in p.stderr


def test_no_helper_variables_leak(tmp_path):
    s = make_exec(
        tmp_path / "leak.sh",
        f"""
        #!/usr/bin/env bash
        set -eu
        nj=4
        . {UTILS}/parse_options.sh
        compgen -v | grep '^__po' || true
        declare -F | grep __po || true
        echo "nj=$nj"
        """,
    )
    p = call(s, "--nj", "8")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=8\n"

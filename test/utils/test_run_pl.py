"""utils/run.pl: the local job runner with the Kaldi run.pl calling convention."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from utils_helpers import make_exec, run, tool

FOOTER = re.compile(
    r"# Accounting: time=\d+ threads=\d+\n# Ended \(code (\d+)\) at .*, elapsed time \d+ seconds\n$"
)


def no_cuda_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(extra)
    return env


def run_clean(*args, cwd, env=None):
    """run.pl with an environment built from scratch (CUDA_VISIBLE_DEVICES removed)."""
    p = subprocess.run(
        [tool("run.pl"), *args],
        cwd=str(cwd),
        env=env or no_cuda_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    return p


def test_found_by_shutil_which():
    assert shutil.which(tool("run.pl")) == tool("run.pl")
    assert shutil.which(tool("slurm.pl")) == tool("slurm.pl")


def test_single_job_log_format(tmp_path):
    p = run("run.pl", "exp/log/deep/hello.log", "echo", "hello world", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "exp/log/deep/hello.log").read_text()
    lines = text.splitlines()
    assert lines[0] == "# echo 'hello world'"
    assert lines[1].startswith("# Started at ")
    assert "hello world\n" in text
    m = FOOTER.search(text)
    assert m and m.group(1) == "0"


def test_job_array_substitutes_job_everywhere(tmp_path):
    p = run(
        "run.pl",
        "JOB=2:4",
        "log/job.JOB.log",
        "bash",
        "-c",
        'echo "id=$1 file=$2 odd=$3"',
        "-",
        "JOB",
        "keys.JOB.scp",
        "it's $HOME;*",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path / "log")) == [
        "job.2.log",
        "job.3.log",
        "job.4.log",
    ]
    for j in (2, 3, 4):
        text = (tmp_path / f"log/job.{j}.log").read_text()
        assert f"id={j} file=keys.{j}.scp odd=it's $HOME;*\n" in text
        assert FOOTER.search(text).group(1) == "0"


def test_shell_operators_as_separate_words(tmp_path):
    p = run(
        "run.pl",
        "JOB=1:2",
        "log/p.JOB.log",
        "printf",
        "a\\nb\\nJOB\\n",
        "|",
        "sort",
        "-r",
        ">",
        "out.JOB.txt",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out.2.txt").read_text() == "b\na\n2\n"
    # pipefail: a failing first stage fails the job
    p = run("run.pl", "log/f.log", "false", "|", "cat", cwd=tmp_path)
    assert p.returncode == 1


def test_failures_are_reported_and_all_jobs_run(tmp_path):
    p = run(
        "run.pl",
        "JOB=1:4",
        "log/x.JOB.log",
        "bash",
        "-c",
        "echo out JOB; exit $(( JOB % 2 == 0 ? 3 : 0 ))",
        cwd=tmp_path,
    )
    assert p.returncode == 1
    for j in (1, 3):
        assert FOOTER.search((tmp_path / f"log/x.{j}.log").read_text()).group(1) == "0"
    for j in (2, 4):
        assert FOOTER.search((tmp_path / f"log/x.{j}.log").read_text()).group(1) == "3"
        assert f"job {j} failed (exit status 3); log: log/x.{j}.log" in p.stderr
    assert "2 of 4 jobs failed (JOB=2,4)" in p.stderr
    assert "out 2" in p.stderr  # tail of the first failed log


def test_single_job_exit_status_is_propagated(tmp_path):
    p = run("run.pl", "l.log", "bash", "-c", "echo broken >&2; exit 7", cwd=tmp_path)
    assert p.returncode == 7
    assert "the job failed (exit status 7); log: l.log" in p.stderr
    assert "broken" in p.stderr


COUNTER = """
#!/usr/bin/env bash
# Records how many jobs run at once: $D/seen gets the count after each start.
D=$1
lock() { until mkdir "$D/lock" 2>/dev/null; do sleep 0.01; done; }
unlock() { rmdir "$D/lock"; }
lock; n=$(( $(cat "$D/running" 2>/dev/null || echo 0) + 1 )); echo $n > "$D/running"; echo $n >> "$D/seen"; unlock
sleep 0.15
lock; n=$(( $(cat "$D/running") - 1 )); echo $n > "$D/running"; unlock
"""

BARRIER = """
#!/usr/bin/env bash
# Jobs 1 and 2 wait for each other: completes only if both run at the same time.
D=$1; me=$2; other=$(( 3 - me ))
touch "$D/here.$me"
for _ in $(seq 400); do [[ -e $D/here.$other ]] && exit 0; sleep 0.05; done
echo "job $other never ran concurrently" >&2; exit 1
"""


@pytest.mark.parametrize("limit", [1, 2])
def test_parallel_limit_is_honoured(tmp_path, limit):
    counter = make_exec(tmp_path / "counter.sh", COUNTER)
    p = run(
        "run.pl",
        f"--max_jobs_run={limit}",
        "JOB=1:6",
        "log/c.JOB.log",
        str(counter),
        str(tmp_path),
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    seen = [int(x) for x in (tmp_path / "seen").read_text().split()]
    assert len(seen) == 6 and max(seen) <= limit


def test_jobs_run_in_parallel(tmp_path):
    barrier = make_exec(tmp_path / "barrier.sh", BARRIER)
    # options may also follow the job spec (Kaldi interleaving)
    p = run(
        "run.pl",
        "JOB=1:2",
        "--max-jobs-run",
        "2",
        "log/b.JOB.log",
        str(barrier),
        str(tmp_path),
        "JOB",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr + (tmp_path / "log/b.1.log").read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--bogus", "1", "l.log", "true"], "unknown option --bogus"),
        (
            ["--gpu", "two", "l.log", "true"],
            "option --gpu expects a non-negative integer, got 'two'",
        ),
        (
            ["--max_jobs_run", "0", "l.log", "true"],
            "option --max_jobs_run expects a positive integer",
        ),
        (["JOB=1:3", "l.log", "true"], "put JOB in the log file name"),
        (["JOB=3:1", "l.JOB.log", "true"], "empty job range JOB=3:1"),
        (["l.log"], "missing the command to run"),
        ([], "missing LOGFILE and command"),
        (
            ["--num_nodes", "2", "l.log", "true"],
            "use utils/slurm.pl for multi-node jobs",
        ),
        (["--gpu"], "option --gpu needs a value"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    p = run("run.pl", *args, cwd=tmp_path)
    assert p.returncode == 1
    assert message in p.stderr
    assert not (tmp_path / "l.log").exists()


def test_help():
    p = run("run.pl", "--help")
    assert p.returncode == 0 and p.stdout.startswith("Usage: utils/run.pl")


def test_accepts_options_of_other_backends(tmp_path):
    p = run(
        "run.pl",
        "--mem",
        "4G",
        "--time=1:00:00",
        "--name",
        "x",
        "--num_threads",
        "3",
        "--config",
        "conf/none.conf",
        "l.log",
        "true",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert "threads=3" in (tmp_path / "l.log").read_text()


def fake_nvidia_smi(tmp_path, n):
    bindir = tmp_path / "gpubin"
    make_exec(
        bindir / "nvidia-smi",
        f"""
        #!/usr/bin/env bash
        [[ "$*" == "--query-gpu=index --format=csv,noheader" ]] || exit 9
        seq 0 {n - 1}
        """,
    )
    return str(bindir)


def test_gpu_assignment_when_cuda_visible_devices_unset(tmp_path):
    barrier = make_exec(tmp_path / "barrier.sh", BARRIER)
    env = no_cuda_env(PATH=f"{fake_nvidia_smi(tmp_path, 4)}:{os.environ['PATH']}")
    p = run_clean(
        "--gpu",
        "2",
        "JOB=1:2",
        "log/g.JOB.log",
        "bash",
        "-c",
        f'echo "CVD=$CUDA_VISIBLE_DEVICES"; {barrier} {tmp_path} JOB',
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    got = sorted(
        re.search(r"^CVD=(.*)$", (tmp_path / f"log/g.{j}.log").read_text(), re.M).group(
            1
        )
        for j in (1, 2)
    )
    assert got == ["0,1", "2,3"]


def test_gpu_pool_limits_concurrency(tmp_path):
    counter = make_exec(tmp_path / "counter.sh", COUNTER)
    env = no_cuda_env(PATH=f"{fake_nvidia_smi(tmp_path, 2)}:{os.environ['PATH']}")
    p = run_clean(
        "--gpu",
        "1",
        "JOB=1:4",
        "log/g.JOB.log",
        str(counter),
        str(tmp_path),
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    assert max(int(x) for x in (tmp_path / "seen").read_text().split()) <= 2


def test_gpu_leaves_existing_cuda_visible_devices(tmp_path):
    env = no_cuda_env(
        PATH=f"{fake_nvidia_smi(tmp_path, 4)}:{os.environ['PATH']}",
        CUDA_VISIBLE_DEVICES="3",
    )
    p = run_clean(
        "--gpu",
        "2",
        "l.log",
        "bash",
        "-c",
        'echo "CVD=$CUDA_VISIBLE_DEVICES"',
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0 and "CVD=3\n" in (tmp_path / "l.log").read_text()


def test_gpu_without_enough_gpus_warns_and_leaves_env(tmp_path):
    env = no_cuda_env(PATH=f"{fake_nvidia_smi(tmp_path, 1)}:{os.environ['PATH']}")
    p = run_clean(
        "--gpu",
        "2",
        "l.log",
        "bash",
        "-c",
        'echo "CVD=${CUDA_VISIBLE_DEVICES-unset}"',
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0
    assert "CVD=unset\n" in (tmp_path / "l.log").read_text()
    assert "--gpu 2 but nvidia-smi lists 1 GPU(s)" in p.stderr


def test_sigterm_stops_running_jobs(tmp_path):
    proc = subprocess.Popen(
        [
            tool("run.pl"),
            "JOB=1:3",
            "--max_jobs_run",
            "1",
            "log/s.JOB.log",
            "bash",
            "-c",
            f"echo $$ > {tmp_path}/pid; exec sleep 60",
        ],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    pidfile = tmp_path / "pid"
    for _ in range(400):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "interrupted by signal" in err
    assert not (tmp_path / "log/s.2.log").exists()  # later jobs never started
    with pytest.raises(ProcessLookupError):
        for _ in range(100):  # the child is gone (allow a moment for reaping)
            os.kill(child, 0)
            time.sleep(0.05)
    assert FOOTER.search((tmp_path / "log/s.1.log").read_text()).group(1) == str(
        128 + signal.SIGTERM
    )

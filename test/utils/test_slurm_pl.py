"""utils/slurm.pl against fake sbatch/squeue/sacct/srun placed first on PATH."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from utils_helpers import run, tool, write

FOOTER = re.compile(r"# Ended \(code (\d+)\) at ")
FAST = "poll_interval = 0\nlog_wait = 0\n"


def sbatch_calls(fake):
    path = fake["calls"] / "sbatch"
    return (
        [json.loads(line) for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


def opt_value(argv, name):
    """Value of ``name V`` or ``name=V`` in an argv list (None if absent)."""
    for i, a in enumerate(argv):
        if a == name:
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def test_array_job_submission_and_logs(tmp_path, fake_slurm):
    write(
        tmp_path / "conf/slurm.conf",
        f"""
        # test cluster
        partition = cpu
        gpu_partition = gpu   # GPU jobs
        sbatch_options = --account=proj --qos=normal
        gpu_sbatch_options = --constraint=a100
        time = 2:00:00
        {FAST}""",
    )
    p = run(
        "slurm.pl",
        "--gpu",
        "2",
        "--mem",
        "16G",
        "--num_threads",
        "4",
        "--max_jobs_run",
        "2",
        "JOB=1:3",
        "exp/log/dec.JOB.log",
        "echo",
        "job JOB",
        "keys.JOB.scp",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 0, p.stderr
    (argv,) = sbatch_calls(fake_slurm)
    assert "--parsable" in argv
    assert opt_value(argv, "--array") == "1-3%2"
    assert opt_value(argv, "--gres") == "gpu:2"
    assert opt_value(argv, "--mem") == "16G"
    assert opt_value(argv, "--cpus-per-task") == "4"
    assert opt_value(argv, "--partition") == "gpu"
    assert opt_value(argv, "--time") == "2:00:00"
    assert opt_value(argv, "--job-name") == "dec"
    assert {"--account=proj", "--qos=normal", "--constraint=a100"} <= set(argv)
    assert "--nodes" not in argv
    assert argv[-1] == "exp/log/q/dec.sh"
    for j in (1, 2, 3):
        text = (tmp_path / f"exp/log/dec.{j}.log").read_text()
        assert text.startswith(f"# echo 'job {j}' keys.{j}.scp\n# Started at ")
        assert f"job {j} keys.{j}.scp\n" in text
        assert FOOTER.search(text).group(1) == "0"
    assert "submitted slurm job 4242" in p.stderr
    assert (fake_slurm["calls"] / "squeue").read_text().split()[:2] == ["-h", "-j"]


def test_cpu_job_uses_cpu_partition_and_no_gres(tmp_path, fake_slurm):
    write(
        tmp_path / "my.conf",
        "partition = short\ngpu_partition = gpu\ncpu_sbatch_options = --exclusive\n"
        + FAST,
    )
    p = run(
        "slurm.pl",
        "--config",
        "my.conf",
        "--time",
        "10",
        "log/one.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 0, p.stderr
    (argv,) = sbatch_calls(fake_slurm)
    assert opt_value(argv, "--partition") == "short"
    assert opt_value(argv, "--time") == "10"
    assert "--exclusive" in argv
    assert not any(a.startswith("--gres") or a.startswith("--array") for a in argv)
    assert opt_value(argv, "--output") == "log/q/one-%j.out"
    assert FOOTER.search((tmp_path / "log/one.log").read_text()).group(1) == "0"


def test_multi_node_runs_srun_inside_allocation(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    p = run(
        "slurm.pl",
        "--gpu",
        "1",
        "--num_threads",
        "1",
        "--num_nodes",
        "2",
        "exp/train.log",
        "srun",
        "--export=ALL",
        "bash",
        "-c",
        "echo trained",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 0, p.stderr
    (argv,) = sbatch_calls(fake_slurm)
    i = argv.index("--nodes")
    assert argv[i : i + 4] == ["--nodes", "2", "--ntasks-per-node", "1"]
    assert (
        fake_slurm["calls"] / "srun"
    ).read_text() == "--export=ALL bash -c echo trained\n"
    assert "trained" in (tmp_path / "exp/train.log").read_text()


def test_failed_task_propagates_and_names_log(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    p = run(
        "slurm.pl",
        "JOB=1:3",
        "log/x.JOB.log",
        "bash",
        "-c",
        "echo task JOB; [ JOB != 2 ]",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 1
    assert (
        "job 2 failed (exit status 1, slurm state FAILED); log: log/x.2.log" in p.stderr
    )
    assert "log/q/x-4242_2.out" in p.stderr
    assert "1 of 3 jobs failed (JOB=2)" in p.stderr
    assert "job 1 failed" not in p.stderr and "job 3 failed" not in p.stderr


def test_task_without_exit_status_is_a_failure(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    env = dict(fake_slurm["env"], FAKE_SBATCH_SKIP="2")
    p = run("slurm.pl", "JOB=1:2", "log/x.JOB.log", "true", cwd=tmp_path, env=env)
    assert p.returncode == 1
    assert "job 2 failed (no exit status in its log, slurm state TIMEOUT)" in p.stderr


def test_stale_log_from_an_earlier_run_is_not_trusted(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    write(
        tmp_path / "log/x.2.log",
        "# old\n# Ended (code 0) at yesterday, elapsed time 1 seconds\n",
    )
    env = dict(fake_slurm["env"], FAKE_SBATCH_SKIP="2")
    p = run("slurm.pl", "JOB=1:2", "log/x.JOB.log", "true", cwd=tmp_path, env=env)
    assert p.returncode == 1 and "job 2 failed" in p.stderr


def test_sbatch_failure(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", "partition = nope\n" + FAST)
    env = dict(fake_slurm["env"], FAKE_SBATCH_FAIL="1")
    p = run("slurm.pl", "log/x.log", "true", cwd=tmp_path, env=env)
    assert p.returncode == 1
    assert (
        "sbatch failed (exit status 1) for log/x.log: sbatch: error: invalid partition"
        in p.stderr
    )


def test_polls_until_job_leaves_queue(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    env = dict(fake_slurm["env"], FAKE_SQUEUE_RUNNING="3")
    p = run("slurm.pl", "JOB=1:2", "log/x.JOB.log", "true", cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert len((fake_slurm["calls"] / "squeue").read_text().splitlines()) == 4
    assert "2/2 finished" in p.stderr


def test_missing_default_config_uses_builtin_defaults(tmp_path, fake_slurm):
    # No conf/slurm.conf: no partition; a job that is already gone on the first poll
    p = run(
        "slurm.pl", "--mem=2G", "log/x.log", "true", cwd=tmp_path, env=fake_slurm["env"]
    )
    assert p.returncode == 0, p.stderr
    (argv,) = sbatch_calls(fake_slurm)
    assert "--partition" not in argv and opt_value(argv, "--mem") == "2G"


@pytest.mark.parametrize(
    "conf,message",
    [
        ("partition = a\nqueue = b\n", "slurm.conf:2: unknown key 'queue'"),
        ("partition a\n", "slurm.conf:1: expected 'key = value'"),
        ("poll_interval = soon\n", "slurm.conf:1: poll_interval must be a number"),
        (
            "sbatch_options = --comment='x\n",
            "slurm.conf:1: sbatch_options: No closing quotation",
        ),
    ],
)
def test_bad_config(tmp_path, fake_slurm, conf, message):
    write(tmp_path / "conf/slurm.conf", conf)
    p = run(
        "slurm.pl",
        "--config",
        "conf/slurm.conf",
        "log/x.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 1 and message in p.stderr
    assert not sbatch_calls(fake_slurm)


def test_explicit_missing_config_is_an_error(tmp_path, fake_slurm):
    p = run(
        "slurm.pl",
        "--config",
        "conf/none.conf",
        "log/x.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm["env"],
    )
    assert p.returncode == 1 and "--config conf/none.conf: no such file" in p.stderr


def test_help():
    p = run("slurm.pl", "-h")
    assert p.returncode == 0 and "--gres=gpu:N" in p.stdout


def test_espnet_launch_dispatches_multi_node_to_slurm_pl(tmp_path, fake_slurm):
    """espnet2.bin.launch calls slurm.pl with --num_nodes and srun (real ESPnet code)."""
    write(tmp_path / "conf/slurm.conf", FAST)
    env = fake_slurm["env"]
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "espnet2.bin.launch",
            "--cmd",
            tool("slurm.pl"),
            "--num_nodes",
            "2",
            "--ngpu",
            "0",
            "--log",
            "exp/train.log",
            "--",
            "python3",
            "-c",
            "import sys; print('ARGS', sys.argv[1:])",
        ],
        cwd=str(tmp_path),
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    (argv,) = sbatch_calls(fake_slurm)
    assert (
        opt_value(argv, "--nodes") == "2" and opt_value(argv, "--cpus-per-task") == "1"
    )
    log = (tmp_path / "exp/train.log").read_text()
    assert "--dist_launcher', 'slurm'" in log
    assert (
        (fake_slurm["calls"] / "srun").read_text().startswith("--export=ALL python3 -c")
    )


def test_espnet_launch_single_node_with_run_pl(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "espnet2.bin.launch",
            "--cmd",
            tool("run.pl"),
            "--ngpu",
            "0",
            "--log",
            "exp/train.log",
            "--",
            "python3",
            "-c",
            "import sys; print('ARGS', sys.argv[1:])",
        ],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    log = (tmp_path / "exp/train.log").read_text()
    assert log.startswith("# python3 -c ")
    assert "ARGS ['--ngpu', '0', '--multiprocessing_distributed', 'True']" in log
    assert Path(tool("run.pl")).name == "run.pl"


def test_sigterm_cancels_the_slurm_job(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", FAST)
    env = {**os.environ, **fake_slurm["env"], "FAKE_SQUEUE_RUNNING": "100000"}
    proc = subprocess.Popen(
        [tool("slurm.pl"), "JOB=1:2", "log/x.JOB.log", "true"],
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    squeue = fake_slurm["calls"] / "squeue"
    for _ in range(600):  # wait until it is polling
        if squeue.exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert (fake_slurm["calls"] / "scancel").read_text() == "4242\n"
    assert "cancelled slurm job 4242" in err


def test_without_slurm_clients(tmp_path):
    bindir = tmp_path / "bin"  # PATH with python3 only
    bindir.mkdir()
    (bindir / "python3").symlink_to(os.path.realpath(sys.executable))
    p = run("slurm.pl", "log/x.log", "true", cwd=tmp_path, env={"PATH": str(bindir)})
    assert p.returncode == 1 and "sbatch not found on PATH" in p.stderr

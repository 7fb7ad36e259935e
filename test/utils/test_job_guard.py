"""Jobs die with their driver (utils/lib/msrs_guard.py in run.pl and slurm.pl).

Issue 13, failure 3: killing the driver (its whole process group, with
SIGKILL) used to leave the jobs running, since run.pl starts each job in its
own session.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from utils_helpers import make_exec, tool, write


def _wait_for(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for init counts as gone
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def _driver(tmp_path: Path, body: str, env=None) -> subprocess.Popen:
    """A bash driver in its own process group, like run.sh started from a shell."""
    script = make_exec(tmp_path / "driver.sh", "#!/usr/bin/env bash\n" + body)
    return subprocess.Popen(
        [str(script)],
        cwd=str(tmp_path),
        env=env or dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _job_pids(tmp_path: Path, n: int):
    files = [tmp_path / f"pid.{j}" for j in range(1, n + 1)]
    assert _wait_for(lambda: all(f.exists() and f.read_text().strip() for f in files))
    return [int(f.read_text()) for f in files]


JOBS = "JOB=1:2 log/x.JOB.log bash -c 'echo $$ > pid.JOB; exec sleep 120'"


def test_killing_the_drivers_process_group_kills_run_pl_jobs(tmp_path):
    driver = _driver(tmp_path, f"{tool('run.pl')} {JOBS}\n")
    pids = _job_pids(tmp_path, 2)
    os.killpg(driver.pid, signal.SIGKILL)  # driver and run.pl die at once
    driver.wait()
    assert _wait_for(lambda: all(_gone(p) for p in pids)), pids
    log = (tmp_path / "log/x.1.log").read_text()
    assert "msrs job guard: run.pl (pid" in log and "died; stopping this job" in log


def test_killing_only_the_driver_stops_run_pl_and_its_jobs(tmp_path):
    body = f"export MSRS_DRIVER_PID=$$\n{tool('run.pl')} {JOBS} & echo $! > runner.pid\nwait\n"
    driver = _driver(tmp_path, body)
    pids = _job_pids(tmp_path, 2)
    runner = int((tmp_path / "runner.pid").read_text())
    os.kill(driver.pid, signal.SIGKILL)  # run.pl itself survives this
    driver.wait()
    assert _wait_for(lambda: all(_gone(p) for p in pids + [runner])), pids
    log = (tmp_path / "log/x.2.log").read_text()
    assert "# Ended (code 143)" in log  # run.pl got SIGTERM from the guard


def test_killing_the_driver_cancels_the_slurm_job(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", "poll_interval = 0\nlog_wait = 0\n")
    env = {**os.environ, **fake_slurm["env"], "FAKE_SQUEUE_RUNNING": "100000"}
    driver = _driver(tmp_path, f"{tool('slurm.pl')} JOB=1:2 log/x.JOB.log true\n", env)
    squeue = fake_slurm["calls"] / "squeue"
    assert _wait_for(squeue.exists)  # submitted and polling
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    scancel = fake_slurm["calls"] / "scancel"
    assert _wait_for(scancel.exists)
    assert scancel.read_text() == "4242\n"


def test_a_finished_slurm_run_cancels_nothing(tmp_path, fake_slurm):
    write(tmp_path / "conf/slurm.conf", "poll_interval = 0\nlog_wait = 0\n")
    env = {**os.environ, **fake_slurm["env"]}
    p = subprocess.run(
        [tool("slurm.pl"), "log/x.log", "true"], cwd=str(tmp_path), env=env, timeout=60
    )
    assert p.returncode == 0
    time.sleep(1.0)
    assert not (fake_slurm["calls"] / "scancel").exists()

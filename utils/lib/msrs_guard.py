#!/usr/bin/env python3
"""Jobs die with their driver: a watchdog process for utils/run.pl and utils/slurm.pl.

run.pl starts each job in its own session (so that it can signal the job's
whole process group), and slurm.pl's jobs run on other machines; either way a
job outlives a runner or driver that is killed with SIGKILL.  A runner
therefore starts this module as a separate process (:class:`Guard`), in its
own session (so killing the driver's process group does not kill it), that
reads commands on its stdin:

    pg <pgid> <log>    a local job's process group (and its log file)
    unpg <pgid>        that job has ended
    scancel <jobid>    a submitted Slurm job
    exit               the runner finished normally: exit without cleanup

The guard cleans up when its stdin reaches end-of-file without ``exit`` (the
runner died, whatever the signal), or when a driver named in the environment
variable ``MSRS_DRIVER_PID`` (space-separated pids; egs/TEMPLATE/avsr.sh adds
its own) is no longer running: it then sends SIGTERM to the runner (which
stops its jobs itself), and if the runner does not exit within
``GRACE_S`` seconds it cleans up directly.  Cleanup: SIGTERM to every live job
process group, SIGKILL to those still alive ``GRACE_S`` seconds later, and
``scancel`` of every Slurm job; a line saying why is appended to each job log.
Only the Python 3 standard library is used.
"""

import os
import select
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional

GRACE_S = 10.0
POLL_S = 0.5


def driver_pids(env: Optional[Dict[str, str]] = None) -> List[int]:
    """The pids in ``MSRS_DRIVER_PID`` (ignoring anything that is not a pid)."""
    raw = (env if env is not None else os.environ).get("MSRS_DRIVER_PID", "")
    return [int(w) for w in raw.split() if w.isdigit() and int(w) > 1]


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Guard:
    """The runner's side: starts the watchdog and tells it about jobs.

    Args:
        runner: the runner's name for messages (``run.pl``, ``slurm.pl``).
    """

    def __init__(self, runner: str):
        self.proc: Optional[subprocess.Popen] = None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), runner, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                universal_newlines=True,
            )
        except OSError as e:
            print(f"{runner}: warning: cannot start the job guard: {e}", file=sys.stderr)

    def _send(self, line: str) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def add_group(self, pgid: int, log: str) -> None:
        self._send(f"pg {pgid} {log}")

    def remove_group(self, pgid: int) -> None:
        self._send(f"unpg {pgid}")

    def add_slurm_job(self, jobid: str) -> None:
        self._send(f"scancel {jobid}")

    def close(self) -> None:
        """The runner is done (its jobs ended or were stopped): no cleanup."""
        self._send("exit")
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


def _note(logs, text: str) -> None:
    for log in logs:
        try:
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"# {text}\n")
        except OSError:
            pass


def _cleanup(groups: Dict[int, str], slurm_jobs: List[str], why: str) -> None:
    live = {g: log for g, log in groups.items() if group_alive(g)}
    _note(live.values(), f"msrs job guard: {why}; stopping this job")
    for g in live:
        try:
            os.killpg(g, signal.SIGTERM)
        except OSError:
            pass
    for jobid in slurm_jobs:
        try:
            subprocess.run(["scancel", jobid], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass
    deadline = time.time() + GRACE_S
    while live and time.time() < deadline:
        time.sleep(0.1)
        live = {g: log for g, log in live.items() if group_alive(g)}
    for g in live:
        try:
            os.killpg(g, signal.SIGKILL)
        except OSError:
            pass


def main(argv: List[str]) -> int:
    runner, runner_pid = argv[0], int(argv[1])
    drivers = driver_pids()
    groups: Dict[int, str] = {}
    slurm_jobs: List[str] = []
    fd = sys.stdin.fileno()
    buf = b""
    signalled_at: Optional[float] = None
    why = ""
    while True:
        ready, _, _ = select.select([fd], [], [], POLL_S)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                why = why or f"{runner} (pid {runner_pid}) died"
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                words = raw.decode("utf-8", "replace").split(" ", 2)
                if words[0] == "exit":
                    return 0
                if words[0] == "pg" and len(words) >= 2:
                    groups[int(words[1])] = words[2] if len(words) > 2 else ""
                elif words[0] == "unpg" and len(words) >= 2:
                    groups.pop(int(words[1]), None)
                elif words[0] == "scancel" and len(words) >= 2:
                    slurm_jobs.append(words[1])
        if signalled_at is None:
            dead = [p for p in drivers if not alive(p)]
            if dead:
                why = f"the driver (pid {dead[0]}) is gone"
                signalled_at = time.time()
                try:
                    os.kill(runner_pid, signal.SIGTERM)
                except OSError:
                    pass
        elif time.time() - signalled_at > GRACE_S:
            break
    _cleanup(groups, slurm_jobs, why)
    if alive(runner_pid) and signalled_at is not None:
        try:
            os.kill(runner_pid, signal.SIGKILL)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

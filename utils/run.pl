#!/usr/bin/env python3
# utils/run.pl -- run one job or an array of jobs on this machine, Kaldi-style.
#
# Why ".pl" when this is Python: recipes, cmd.sh files and ESPnet itself refer
# to Kaldi's runner scripts by name.  `python -m espnet2.bin.launch` calls
# `<cmd> --gpu N LOG args...` and dispatches on the basename of --cmd
# ("run.pl" refuses multi-node, "slurm.pl" gets `--num_nodes N LOG srun ...`),
# so the names must stay run.pl / slurm.pl.  Only the Python 3 standard
# library is used (no msrs venv needed); shared code is in utils/lib/msrs_jobs.py.
"""Runs commands as local parallel jobs with per-job logs (Kaldi ``run.pl`` convention)."""

import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))

import msrs_jobs as mj  # noqa: E402
from msrs_guard import Guard  # noqa: E402

PROG = "run.pl"
USAGE = """\
Usage: utils/run.pl [options] [JOB=a:b] LOGFILE command [args...]

Runs the command on this machine; with JOB=a:b runs b-a+1 jobs in parallel,
replacing the text JOB in LOGFILE and in every argument by the job number.
Each job writes LOGFILE (directories are created): the command line and start
time first, then the job's stdout+stderr, then '# Ended (code N) ...' with the
exit status and elapsed time.  Exit status: 0 if every job succeeded, else the
job's status (single job) or 1 (several jobs), after naming the failed jobs
and their logs.  All jobs run even if some fail.  Jobs die with their runner
and driver: a watchdog (utils/lib/msrs_guard.py) stops every running job when
run.pl is killed (even with SIGKILL) or when a process named in
MSRS_DRIVER_PID (set by egs/TEMPLATE/avsr.sh) is gone.

Options (also --opt=value, and with dashes: --max-jobs-run):
  --max_jobs_run N  run at most N jobs at once (default: number of usable CPUs)
  --gpu N           GPUs per job.  If CUDA_VISIBLE_DEVICES is unset and
                    nvidia-smi lists at least N GPUs, each running job gets its
                    own N GPUs in CUDA_VISIBLE_DEVICES (jobs wait for free GPUs,
                    so at most GPUs/N run at once).  If CUDA_VISIBLE_DEVICES is
                    set (even to ''), it is left alone.  --gpu 0: no change.
  --num_threads N   recorded in the log's Accounting line (no local effect)
  --num_nodes N     must be 1 (multi-node jobs need utils/slurm.pl)
  --mem X, --time T, --name X, --config FILE
                    accepted so that cmd.sh can use one option set for every
                    backend; no local effect

Arguments are passed to the command unchanged (quoted); an argument that is
exactly a shell operator ('|', '&&', ';', '>', '2>&1', ...) stays an operator,
so 'run.pl log a x \\| b y' runs the pipeline 'a x | b y' (bash, pipefail).

Examples:
  utils/run.pl exp/log/hello.log echo hello
  utils/run.pl --max_jobs_run 4 JOB=1:8 exp/log/dec.JOB.log \\
      python -m msrs.bin.avsr_inference --keys exp/keys.JOB.scp --out out.JOB"""


class GpuPool:
    """Hands out disjoint sets of GPU indices to concurrently running jobs."""

    def __init__(self, indices, per_job):
        self._free = list(indices)
        self._per_job = per_job
        self._cond = threading.Condition()

    def acquire(self, stop):
        with self._cond:
            while len(self._free) < self._per_job and not stop.is_set():
                self._cond.wait(0.5)
            if stop.is_set():
                return None
            taken, self._free = self._free[: self._per_job], self._free[self._per_job :]
            return taken

    def release(self, taken):
        with self._cond:
            self._free.extend(taken)
            self._free.sort(key=int)
            self._cond.notify_all()


class LocalRunner:
    """Runs ``msrs_jobs.Job`` objects with a concurrency limit."""

    def __init__(self, jobs, max_running, threads, gpu_pool, guard=None):
        self.guard = guard
        self.jobs = jobs
        self.max_running = max_running
        self.threads = threads
        self.gpu_pool = gpu_pool
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.running = {}  # job index -> Popen
        self.results = {}  # job index -> (code, reason)
        self.next_index = 0

    def _take(self):
        with self.lock:
            if self.stop.is_set() or self.next_index >= len(self.jobs):
                return None
            i = self.next_index
            self.next_index += 1
            return i

    def _run_one(self, i):
        job = self.jobs[i]
        env = None
        gpus = None
        if self.gpu_pool is not None:
            gpus = self.gpu_pool.acquire(self.stop)
            if gpus is None:
                self.results[i] = (None, "not started: interrupted")
                return
            env = dict(os.environ, CUDA_VISIBLE_DEVICES=",".join(gpus))
        start = time.time()
        try:
            try:
                f = open(job.log, "w", encoding="utf-8")
            except OSError as e:
                self.results[i] = (1, f"cannot write log {job.log}: {e.strerror}")
                return
            with f:
                where = mj.hostname()
                if gpus is not None:
                    where += f" (CUDA_VISIBLE_DEVICES={','.join(gpus)})"
                f.write(mj.header(job.command, where))
                f.flush()
                with self.lock:
                    if self.stop.is_set():
                        f.write("# not started: run.pl was interrupted\n")
                        self.results[i] = (None, "not started: interrupted")
                        return
                    proc = subprocess.Popen(
                        ["bash", "-o", "pipefail", "-c", job.command],
                        stdin=subprocess.DEVNULL,
                        stdout=f,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                    self.running[i] = proc
                    if self.guard is not None:
                        self.guard.add_group(proc.pid, job.log)
                code = proc.wait()
                with self.lock:
                    del self.running[i]
                    if self.guard is not None:
                        self.guard.remove_group(proc.pid)
                if code < 0:
                    code = 128 - code
                f.write(mj.footer(code, time.time() - start, self.threads))
            self.results[i] = (code, f"exit status {code}")
        finally:
            if gpus is not None:
                self.gpu_pool.release(gpus)

    def _worker(self):
        while True:
            i = self._take()
            if i is None:
                return
            self._run_one(i)

    def interrupt(self, signum):
        """Stops starting jobs and forwards ``signum`` to running ones."""
        self.stop.set()
        with self.lock:
            procs = list(self.running.values())
        for p in procs:
            try:
                os.killpg(p.pid, signum)
            except OSError:
                pass

    def run(self):
        n_workers = max(1, min(self.max_running, len(self.jobs)))
        workers = [
            threading.Thread(target=self._worker, daemon=True) for _ in range(n_workers)
        ]
        for w in workers:
            w.start()
        for w in workers:
            while w.is_alive():
                w.join(0.05)


def default_max_jobs():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv):
    try:
        args = mj.parse_runner_args(argv)
        if args.num_nodes > 1:
            raise mj.UsageError(
                f"--num_nodes {args.num_nodes}: run.pl runs jobs on this machine "
                "only; use utils/slurm.pl for multi-node jobs"
            )
        jobs = mj.expand_jobs(args)
        mj.make_log_dirs(jobs)
    except mj.UsageError as e:
        return mj.usage_exit(PROG, USAGE, e)

    gpu_pool = None
    if args.gpu > 0 and "CUDA_VISIBLE_DEVICES" not in os.environ:
        gpus = mj.detect_gpus()
        if len(gpus) >= args.gpu:
            gpu_pool = GpuPool(gpus, args.gpu)
        else:
            print(
                f"{PROG}: warning: --gpu {args.gpu} but nvidia-smi lists "
                f"{len(gpus)} GPU(s); CUDA_VISIBLE_DEVICES left unset",
                file=sys.stderr,
            )

    max_running = args.max_jobs_run or default_max_jobs()
    guard = Guard(PROG)
    runner = LocalRunner(jobs, max_running, args.num_threads, gpu_pool, guard)
    received = []

    def on_signal(signum, _frame):
        received.append(signum)
        runner.interrupt(signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    runner.run()
    guard.close()

    failed = []
    for i, job in enumerate(jobs):
        code, reason = runner.results.get(i, (None, "not started: interrupted"))
        if code != 0:
            failed.append((job, reason))
    if received:
        print(
            f"{PROG}: interrupted by signal {received[0]}; "
            f"{len(failed)} of {len(jobs)} job(s) did not complete",
            file=sys.stderr,
        )
        return 128 + received[0]
    if not failed:
        return 0
    mj.report_failures(PROG, failed, len(jobs))
    if len(jobs) == 1:
        code = runner.results.get(0, (1, ""))[0]
        return code if code and 0 < code < 256 else 1
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

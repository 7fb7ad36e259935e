#!/usr/bin/env python3
# utils/slurm.pl -- run one job or an array of jobs through Slurm, Kaldi-style.
#
# Why ".pl" when this is Python: recipes, cmd.sh files and ESPnet itself refer
# to Kaldi's runner scripts by name.  `python -m espnet2.bin.launch` dispatches
# on the basename of --cmd: for "slurm.pl" it calls
#     <cmd> --gpu N --num_threads N --num_nodes N LOG srun --export=ALL args...
# for multi-node training, so the name must stay slurm.pl.  Only the Python 3
# standard library is used; shared code is in utils/lib/msrs_jobs.py.
"""Submits commands to Slurm with ``sbatch`` and waits for them (Kaldi ``slurm.pl`` convention)."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))

import msrs_jobs as mj  # noqa: E402
from msrs_guard import Guard  # noqa: E402

PROG = "slurm.pl"
DEFAULT_CONFIG = "conf/slurm.conf"
USAGE = """\
Usage: utils/slurm.pl [options] [JOB=a:b] LOGFILE command [args...]

Same calling convention, JOB substitution, log format and exit status as
utils/run.pl, but the jobs run on a Slurm cluster.  One sbatch submission per
call: an array job (--array=a-b) for JOB=a:b, a plain job otherwise.  The job
script is written to <log dir>/q/<name>.sh and Slurm's own output goes to
<log dir>/q/<name>-<jobid>_<task>.out.  slurm.pl polls squeue until the job
has left the queue, reads each job's exit status from its log (sacct states
are reported for jobs whose log has none) and exits non-zero, naming the failed
jobs and their logs, if any job failed.  On SIGINT/SIGTERM it scancels the job;
a watchdog (utils/lib/msrs_guard.py) scancels it too when slurm.pl is killed
(even with SIGKILL) or a process named in MSRS_DRIVER_PID is gone.

Options (also --opt=value, and with dashes):
  --gpu N           --gres=gpu:N (per node); selects gpu_partition (see config)
  --mem X           --mem X (per node, e.g. 16G)
  --num_threads N   --cpus-per-task N
  --num_nodes N     --nodes N --ntasks-per-node 1; the command (e.g. 'srun ...')
                    runs inside the allocation
  --max_jobs_run N  --array=a-b%N (at most N array tasks running at once)
  --time T          --time T (overrides the config's time)
  --name X          --job-name X (default: the log file name without JOB/.log)
  --config FILE     options file (default conf/slurm.conf; built-in defaults if
                    that file does not exist, error if an explicit FILE is missing)

Config file: one 'key = value' per line, '#' starts a comment.
  partition           --partition for jobs with --gpu 0 (empty: cluster default)
  gpu_partition       --partition for jobs with --gpu > 0 (empty: = partition)
  sbatch_options      extra sbatch options for every job (shell words)
  gpu_sbatch_options  extra sbatch options for GPU jobs only (shell words)
  cpu_sbatch_options  extra sbatch options for CPU-only jobs (shell words)
  time                default --time (empty: partition default)
  mem                 default --mem when the caller gives none
  poll_interval       seconds between squeue polls (default 30)
  log_wait            seconds to wait for a finished job's log to show its
                      exit status on a lagging shared file system (default 60)
See utils/slurm.conf.example."""

CONFIG_KEYS = {
    "partition": "",
    "gpu_partition": "",
    "sbatch_options": "",
    "gpu_sbatch_options": "",
    "cpu_sbatch_options": "",
    "time": "",
    "mem": "",
    "poll_interval": "30",
    "log_wait": "60",
}


def read_config(path, explicit):
    """Reads a ``key = value`` slurm.pl config file.

    Args:
        path: the file.
        explicit: whether the user named it (then it must exist).

    Returns:
        dict of every key in ``CONFIG_KEYS``.

    Raises:
        mj.UsageError: missing explicit file, bad line, unknown key, bad number.
    """
    conf = dict(CONFIG_KEYS)
    if not os.path.exists(path):
        if explicit:
            raise mj.UsageError(f"--config {path}: no such file")
        return conf
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise mj.UsageError(f"cannot read config {path}: {e}")
    for n, raw in enumerate(lines, 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if "=" not in line:
            raise mj.UsageError(
                f"{path}:{n}: expected 'key = value', got '{raw.strip()}'"
            )
        key, value = (s.strip() for s in line.split("=", 1))
        if key not in CONFIG_KEYS:
            raise mj.UsageError(
                f"{path}:{n}: unknown key '{key}' (known: {', '.join(CONFIG_KEYS)})"
            )
        if key.endswith("sbatch_options"):
            try:
                shlex.split(value)
            except ValueError as e:
                raise mj.UsageError(f"{path}:{n}: {key}: {e}")
        if key in ("poll_interval", "log_wait"):
            try:
                if float(value) < 0:
                    raise ValueError
            except ValueError:
                raise mj.UsageError(
                    f"{path}:{n}: {key} must be a number >= 0, got '{value}'"
                )
        conf[key] = value
    return conf


def job_name(args):
    if args.name:
        return args.name
    base = os.path.basename(args.log)
    if args.job_var:
        base = base.replace(args.job_var, "")
    base = re.sub(r"\.log$", "", base)
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("._-")
    return base or "msrs"


def sbatch_options(args, conf, name, out_pattern):
    """The sbatch option list for a runner call (without the script)."""
    opts = ["--parsable", "--job-name", name, "--output", out_pattern]
    if len(args.job_ids) > 1 or args.job_var is not None:
        array = f"{args.job_ids[0]}-{args.job_ids[-1]}"
        if args.max_jobs_run:
            array += f"%{args.max_jobs_run}"
        opts.append(f"--array={array}")
    partition = (
        conf["gpu_partition"] or conf["partition"]
        if args.gpu > 0
        else conf["partition"]
    )
    if partition:
        opts += ["--partition", partition]
    if args.gpu > 0:
        opts.append(f"--gres=gpu:{args.gpu}")
    mem = args.mem or conf["mem"]
    if mem:
        opts += ["--mem", mem]
    opts += ["--cpus-per-task", str(args.num_threads)]
    if args.num_nodes > 1:
        opts += ["--nodes", str(args.num_nodes), "--ntasks-per-node", "1"]
    t = args.time or conf["time"]
    if t:
        opts += ["--time", t]
    opts += shlex.split(conf["sbatch_options"])
    opts += shlex.split(
        conf["gpu_sbatch_options" if args.gpu > 0 else "cpu_sbatch_options"]
    )
    return opts


def job_script(jobs, threads):
    """A bash batch script running the job selected by SLURM_ARRAY_TASK_ID."""
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        "# Written by utils/slurm.pl; runs one job of the call selected by",
        "# SLURM_ARRAY_TASK_ID and writes its log like utils/run.pl.",
        f"cd {q(os.getcwd())} || exit 1",
        "run_job() {",
        "  local log=$1 cmd=$2 start rc",
        '  mkdir -p -- "$(dirname -- "$log")" || exit 1',
        '  { printf "# %s\\n" "$cmd"',
        '    printf "# Started at %s on %s (slurm job %s)\\n#\\n" "$(date)" "$(hostname)" \\',
        '      "${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ task $SLURM_ARRAY_TASK_ID}"',
        '  } > "$log" || exit 1',
        "  start=$(date +%s)",
        '  bash -o pipefail -c "$cmd" </dev/null >>"$log" 2>&1',
        "  rc=$?",
        '  printf "# Accounting: time=%d threads=%d\\n# Ended (code %d) at %s, elapsed time %d seconds\\n" \\',
        f'    $(( $(date +%s) - start )) {int(threads)} "$rc" "$(date)" $(( $(date +%s) - start )) >>"$log"',
        '  exit "$rc"',
        "}",
    ]
    if len(jobs) == 1 and jobs[0].job_id is None:
        lines.append(f"run_job {q(jobs[0].log)} {q(jobs[0].command)}")
    else:
        lines.append('case "${SLURM_ARRAY_TASK_ID:-}" in')
        for job in jobs:
            lines.append(f"  {job.job_id}) run_job {q(job.log)} {q(job.command)} ;;")
        lines.append(
            '  *) echo "slurm.pl job script: unexpected SLURM_ARRAY_TASK_ID='
            "'${SLURM_ARRAY_TASK_ID:-}'\" >&2; exit 1 ;;"
        )
        lines.append("esac")
    return "\n".join(lines) + "\n"


def run_tool(argv):
    """Runs a Slurm client; returns (returncode, stdout, stderr); rc 127 if missing."""
    try:
        p = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            check=False,
        )
    except OSError as e:
        return 127, "", f"{argv[0]}: {e.strerror}"
    return p.returncode, p.stdout, p.stderr


def in_queue(jobid):
    """True while squeue lists the job; None when squeue cannot tell."""
    rc, out, err = run_tool(["squeue", "-h", "-j", jobid, "-o", "%T"])
    if rc == 0:
        return bool(out.strip())
    if "invalid job id" in err.lower():
        return False
    return None


def sacct_states(jobid):
    """``task id (int or None) -> (state, exit code)`` from sacct; {} if unavailable."""
    rc, out, _ = run_tool(
        ["sacct", "-j", jobid, "-X", "-n", "-P", "-o", "JobID,State,ExitCode"]
    )
    states = {}
    if rc != 0:
        return states
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 3:
            continue
        jid, state, code = parts[0], parts[1].split()[0] if parts[1] else "", parts[2]
        m = re.match(r"^\d+_(\d+)$", jid)
        if m:
            states[int(m.group(1))] = (state, code)
        elif re.match(r"^\d+$", jid):
            states[None] = (state, code)
    return states


def main(argv):
    config = None
    try:
        args = mj.parse_runner_args(argv)
        config = args.config or DEFAULT_CONFIG
        conf = read_config(config, explicit=args.config is not None)
        jobs = mj.expand_jobs(args)
        mj.make_log_dirs(jobs)
    except mj.UsageError as e:
        return mj.usage_exit(PROG, USAGE, e)

    for client in ("sbatch", "squeue"):
        if shutil.which(client) is None:
            print(
                f"{PROG}: error: {client} not found on PATH (slurm.pl must run where "
                "the Slurm client commands are installed; use utils/run.pl locally)",
                file=sys.stderr,
            )
            return 1
    name = job_name(args)
    qdir = os.path.join(os.path.dirname(jobs[0].log) or ".", "q")
    try:
        os.makedirs(qdir, exist_ok=True)
        script = os.path.join(qdir, f"{name}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(job_script(jobs, args.num_threads))
        os.chmod(script, 0o755)
    except OSError as e:
        print(
            f"{PROG}: error: cannot write the job script in {qdir}: {e.strerror}",
            file=sys.stderr,
        )
        return 1
    is_array = args.job_var is not None
    out_pattern = os.path.join(
        qdir, f"{name}-%A_%a.out" if is_array else f"{name}-%j.out"
    )
    for job in jobs:  # stale logs must not pass for this run's results
        try:
            os.remove(job.log)
        except OSError:
            pass

    cmd = ["sbatch"] + sbatch_options(args, conf, name, out_pattern) + [script]
    rc, out, err = run_tool(cmd)
    if rc != 0:
        print(
            f"{PROG}: error: sbatch failed (exit status {rc}) for {jobs[0].log}: "
            f"{err.strip() or out.strip()}\n{PROG}: command was: {mj.join_command(cmd)}",
            file=sys.stderr,
        )
        return 1
    jobid = out.strip().split(";")[0].strip()
    if not re.match(r"^\d+$", jobid):
        print(
            f"{PROG}: error: cannot read a job id from sbatch output '{out.strip()}'",
            file=sys.stderr,
        )
        return 1
    global _GUARD
    _GUARD = Guard(PROG)
    _GUARD.add_slurm_job(jobid)
    print(
        f"{PROG}: submitted slurm job {jobid} ({len(jobs)} job(s), logs {args.log})",
        file=sys.stderr,
    )

    received = []

    def on_signal(signum, _frame):
        received.append(signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    poll = float(conf["poll_interval"])
    failures_in_a_row = 0
    reported = -1
    while not received:
        state = in_queue(jobid)
        if state is False:
            break
        if state is None:
            failures_in_a_row += 1
            if failures_in_a_row >= 20:
                print(
                    f"{PROG}: warning: squeue keeps failing; stop waiting for job {jobid}",
                    file=sys.stderr,
                )
                break
        else:
            failures_in_a_row = 0
        done = sum(mj.read_exit_status(j.log) is not None for j in jobs)
        if done != reported and len(jobs) > 1:
            print(f"{PROG}: job {jobid}: {done}/{len(jobs)} finished", file=sys.stderr)
            reported = done
        deadline = time.time() + max(poll, 0.1)
        while not received and time.time() < deadline:
            time.sleep(max(0.0, min(0.5, deadline - time.time())))
    if received:
        run_tool(["scancel", jobid])
        print(
            f"{PROG}: interrupted by signal {received[0]}; cancelled slurm job {jobid}",
            file=sys.stderr,
        )
        return 128 + received[0]

    codes = {i: mj.read_exit_status(j.log) for i, j in enumerate(jobs)}
    deadline = time.time() + float(conf["log_wait"])
    while any(c is None for c in codes.values()) and time.time() < deadline:
        time.sleep(1.0)
        codes = {
            i: (c if c is not None else mj.read_exit_status(jobs[i].log))
            for i, c in codes.items()
        }
    states = sacct_states(jobid) if any(c != 0 for c in codes.values()) else {}

    failed, extra = [], {}
    for i, job in enumerate(jobs):
        code = codes[i]
        task = job.job_id
        out_file = (
            out_pattern.replace("%A", jobid)
            .replace("%a", str(task))
            .replace("%j", jobid)
        )
        state, sacct_code = states.get(task, ("", ""))
        if code == 0:
            continue
        if code is None and state == "COMPLETED" and sacct_code == "0:0":
            print(
                f"{PROG}: warning: {job.log} has no exit status, but sacct says {task}: COMPLETED",
                file=sys.stderr,
            )
            continue
        reason = (
            f"exit status {code}" if code is not None else "no exit status in its log"
        )
        if state:
            reason += f", slurm state {state}"
        failed.append((job, reason))
        extra[job.job_id] = f" (slurm output: {out_file})"
    if not failed:
        return 0
    mj.report_failures(PROG, failed, len(jobs), extra)
    if len(jobs) == 1 and codes[0] is not None and 0 < codes[0] < 256:
        return codes[0]
    return 1


_GUARD = None  # the watchdog that scancels the job if slurm.pl dies


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    finally:
        if _GUARD is not None:
            _GUARD.close()
    sys.exit(rc)

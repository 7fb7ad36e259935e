"""Shared code of the job runners ``utils/run.pl`` and ``utils/slurm.pl``.

Python 3 standard library only (the runners must work without the msrs venv).

Calling convention (the one of Kaldi's ``run.pl``, which ESPnet's
``espnet2.bin.launch`` and ``asr.sh``-style stage drivers use)::

    RUNNER [options] [JOB=a:b] LOGFILE command [args...]

* Options: ``--gpu N``, ``--mem X``, ``--num_threads N``, ``--max_jobs_run N``,
  ``--num_nodes N``, ``--name X``, ``--time T``, ``--config FILE``; each also as
  ``--opt=value`` and with dashes (``--max-jobs-run``). Options may come before
  or after the ``JOB=a:b`` spec.
* ``VAR=a:b`` (any variable name, usually ``JOB``) runs ``b-a+1`` jobs; every
  occurrence of the text ``VAR`` in LOGFILE and in the command's arguments is
  replaced by the job number (plain substring replacement, as in Kaldi).
  ``VAR=a`` runs a single job numbered ``a``.
* The command's arguments reach the command unchanged: each one is
  shell-quoted, except an argument that is exactly a shell operator
  (``'|'``, ``'||'``, ``'&&'``, ``';'``, ``'|&'``, ``'<'``, ``'>'``, ``'>>'``,
  ``'2>'``, ``'2>&1'``, ``'&>'``, ...), which stays an operator, so Kaldi-style
  pipelines (``cmd1 ... \\| cmd2 ...``) work. The resulting line runs under
  ``bash -o pipefail -c``.
* One log per job: it starts with ``# <command line>`` and ``# Started at ...``
  and ends with ``# Accounting: time=<s> threads=<n>`` and
  ``# Ended (code <status>) at <date>, elapsed time <s> seconds``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

JOBSPEC_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")
FOOTER_RE = re.compile(r"^# Ended \(code (-?\d+)\) at ", re.MULTILINE)
_OPERATOR_RE = re.compile(
    r"^(\||\|\||&&|;|\|&|[0-9]*>>?|[0-9]*<|[0-9]*>&[0-9-]|&>>?|<<<)$"
)


class UsageError(Exception):
    """A bad command line; the message names the option or argument."""


class RunnerArgs:
    """Parsed runner command line.

    Attributes:
        gpu: GPUs per job (``--gpu``).
        mem: memory request, scheduler syntax such as ``8G`` (``--mem``).
        num_threads: CPU threads per job/task (``--num_threads``).
        max_jobs_run: most jobs running at once, or None for the default.
        num_nodes: nodes per job (``--num_nodes``).
        name: job name (``--name``), or None.
        time: time limit, scheduler syntax (``--time``), or None.
        config: backend config file (``--config``), or None.
        job_var: name of the job variable (``JOB``), or None without a spec.
        job_ids: job numbers; ``[None]`` without a job spec.
        log: the log file template.
        command: the command and its arguments.
    """

    def __init__(self) -> None:
        self.gpu = 0
        self.mem: Optional[str] = None
        self.num_threads = 1
        self.max_jobs_run: Optional[int] = None
        self.num_nodes = 1
        self.name: Optional[str] = None
        self.time: Optional[str] = None
        self.config: Optional[str] = None
        self.job_var: Optional[str] = None
        self.job_ids: List[Optional[int]] = [None]
        self.log = ""
        self.command: List[str] = []


# option spelling -> (attribute, value kind)
_OPTIONS = {
    "gpu": ("gpu", "int0"),
    "mem": ("mem", "str"),
    "num_threads": ("num_threads", "int1"),
    "max_jobs_run": ("max_jobs_run", "int1"),
    "num_nodes": ("num_nodes", "int1"),
    "name": ("name", "str"),
    "time": ("time", "str"),
    "config": ("config", "str"),
}


def _convert(option: str, kind: str, value: str):
    if kind == "str":
        if value == "":
            raise UsageError(f"option --{option} needs a non-empty value")
        return value
    try:
        number = int(value)
    except ValueError:
        number = -1
    minimum = 0 if kind == "int0" else 1
    if number < minimum:
        what = "a non-negative" if minimum == 0 else "a positive"
        raise UsageError(f"option --{option} expects {what} integer, got '{value}'")
    return number


def parse_runner_args(argv: Sequence[str]) -> RunnerArgs:
    """Parses ``[options] [JOB=a:b] LOGFILE command...``.

    Args:
        argv: the arguments after the program name.

    Returns:
        The parsed arguments.

    Raises:
        UsageError: unknown option, bad value, missing log file or command,
            bad job range, or several jobs writing one log file.
    """
    args = RunnerArgs()
    rest = list(argv)
    # Options may come before and after the job spec (as in Kaldi's run.pl).
    for _ in range(2):
        while rest and rest[0].startswith("-") and rest[0] != "-":
            token = rest.pop(0)
            if token in ("-h", "--help"):
                raise UsageError("help")
            if token.startswith("--") and "=" in token:
                option, value = token[2:].split("=", 1)
            else:
                option = token.lstrip("-")
                if not rest:
                    raise UsageError(f"option {token} needs a value")
                value = rest.pop(0)
            key = option.replace("-", "_")
            if key not in _OPTIONS:
                raise UsageError(
                    f"unknown option {token.split('=', 1)[0]} "
                    f"(known: {', '.join('--' + o for o in _OPTIONS)})"
                )
            attr, kind = _OPTIONS[key]
            setattr(args, attr, _convert(key, kind, value))
        if rest and args.job_var is None:
            match = JOBSPEC_RE.match(rest[0])
            if match:
                rest.pop(0)
                var, start = match.group(1), int(match.group(2))
                end = int(match.group(3)) if match.group(3) is not None else start
                if end < start:
                    raise UsageError(f"empty job range {var}={start}:{end}")
                args.job_var = var
                args.job_ids = list(range(start, end + 1))
    if not rest:
        raise UsageError("missing LOGFILE and command")
    args.log = rest.pop(0)
    if not rest:
        raise UsageError(f"missing the command to run (log file: {args.log})")
    args.command = rest
    if len(args.job_ids) > 1 and args.job_var not in args.log:
        raise UsageError(
            f"{len(args.job_ids)} jobs ({args.job_var}="
            f"{args.job_ids[0]}:{args.job_ids[-1]}) would write one log file "
            f"'{args.log}': put {args.job_var} in the log file name"
        )
    return args


def join_command(words: Sequence[str]) -> str:
    """Joins arguments into a bash command line (see the module docstring).

    Args:
        words: the command and its arguments.

    Returns:
        A command line whose words reach the command unchanged, except words
        that are exactly shell operators.
    """
    return " ".join(w if _OPERATOR_RE.match(w) else shlex.quote(w) for w in words)


class Job:
    """One job of a runner call.

    Attributes:
        job_id: the job number, or None without a job spec.
        log: this job's log file.
        command: this job's bash command line.
    """

    def __init__(self, job_id: Optional[int], log: str, command: str) -> None:
        self.job_id = job_id
        self.log = log
        self.command = command

    @property
    def label(self) -> str:
        return "the job" if self.job_id is None else f"job {self.job_id}"


def expand_jobs(args: RunnerArgs) -> List[Job]:
    """Substitutes the job variable into the log file and the command.

    Args:
        args: parsed runner arguments.

    Returns:
        One ``Job`` per job number.
    """
    jobs = []
    for job_id in args.job_ids:
        if job_id is None or args.job_var is None:
            log, words = args.log, args.command
        else:
            sub = str(job_id)
            log = args.log.replace(args.job_var, sub)
            words = [w.replace(args.job_var, sub) for w in args.command]
        jobs.append(Job(job_id, log, join_command(words)))
    return jobs


def make_log_dirs(jobs: Sequence[Job]) -> None:
    """Creates the directories of the jobs' logs.

    Raises:
        UsageError: a directory cannot be created (the message names it).
    """
    for d in sorted({os.path.dirname(j.log) for j in jobs}):
        if d:
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as e:
                raise UsageError(f"cannot create log directory {d}: {e.strerror}")


def header(command: str, where: str) -> str:
    """The first lines of a job log."""
    return (
        f"# {command}\n"
        f"# Started at {time.strftime('%a %b %d %H:%M:%S %Z %Y')} on {where}\n"
        "#\n"
    )


def footer(code: int, elapsed: float, threads: int) -> str:
    """The last lines of a job log; ``read_exit_status`` parses them."""
    secs = int(round(elapsed))
    return (
        f"# Accounting: time={secs} threads={threads}\n"
        f"# Ended (code {code}) at {time.strftime('%a %b %d %H:%M:%S %Z %Y')}, "
        f"elapsed time {secs} seconds\n"
    )


def hostname() -> str:
    return socket.gethostname()


def read_exit_status(log: str) -> Optional[int]:
    """Returns the exit status written at the end of a job log, or None.

    None means the log is missing or has no ``# Ended (code N)`` line (the job
    was killed, timed out or never started).
    """
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = FOOTER_RE.findall(tail)
    return int(found[-1]) if found else None


def log_tail(log: str, lines: int = 5) -> str:
    """The last ``lines`` lines of a log before its footer, indented."""
    try:
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    body = [ln for ln in text.splitlines() if not ln.startswith("# ")]
    body = [ln for ln in body if ln != "#"]
    return "".join(f"    {ln}\n" for ln in body[-lines:])


def report_failures(
    prog: str, failed: List[Tuple[Job, str]], total: int, extra: Optional[Dict] = None
) -> None:
    """Prints which jobs failed, their logs, and the tail of the first log.

    Args:
        prog: program name for the messages.
        failed: ``(job, reason)`` pairs.
        total: number of jobs of the call.
        extra: optional ``job_id -> text`` appended to a job's line.
    """
    extra = extra or {}
    for job, reason in failed:
        more = extra.get(job.job_id, "")
        print(
            f"{prog}: {job.label} failed ({reason}); log: {job.log}{more}",
            file=sys.stderr,
        )
    if total > 1:
        ids = ",".join(str(j.job_id) for j, _ in failed)
        print(
            f"{prog}: {len(failed)} of {total} jobs failed (JOB={ids})", file=sys.stderr
        )
    tail = log_tail(failed[0][0].log)
    if tail:
        print(
            f"{prog}: last lines of {failed[0][0].log}:\n{tail}",
            end="",
            file=sys.stderr,
        )


def detect_gpus() -> List[str]:
    """Indices of this machine's GPUs from ``nvidia-smi`` (empty if none/unknown)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index", "--format=csv,noheader"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
            universal_newlines=True,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip().isdigit()]


def usage_exit(prog: str, usage: str, err: UsageError) -> int:
    """Prints usage (``--help``, exit 0) or the error (exit 1)."""
    if str(err) == "help":
        print(usage)
        return 0
    print(f"{prog}: error: {err}", file=sys.stderr)
    print(f"Run '{prog} --help' for usage.", file=sys.stderr)
    return 1

"""Fixtures for the tests of the shell tools in ``utils/`` (helpers: utils_helpers.py)."""

import os
from pathlib import Path

import pytest

from utils_helpers import REAL_PYTHON_DIR, make_exec


@pytest.fixture
def fake_slurm(tmp_path: Path):
    """A bin dir with fake sbatch/squeue/sacct/srun/scancel that record their calls.

    * ``sbatch`` appends its argv (one JSON list per line) to ``calls/sbatch``,
      runs the job script locally once per array task (``SLURM_ARRAY_TASK_ID``
      set) writing Slurm's output file, stores per-task states for ``sacct``
      and prints job id 4242.  ``FAKE_SBATCH_FAIL=1`` makes it fail like a bad
      partition; ``FAKE_SBATCH_SKIP=<task>`` leaves a task unrun (state TIMEOUT).
    * ``squeue`` reports the job as RUNNING for the first ``FAKE_SQUEUE_RUNNING``
      calls (default 0), then as gone.
    * ``srun`` records its argv, drops its own options and runs the rest.

    Returns:
        dict with ``bin`` (prepend to PATH), ``calls`` (dir of call records)
        and ``env`` (environment to pass to the tool).
    """
    bindir = tmp_path / "fakebin"
    calls = tmp_path / "calls"
    calls.mkdir()
    make_exec(
        bindir / "sbatch",
        """
        #!/usr/bin/env python3
        import json, os, subprocess, sys
        calls = os.environ["FAKE_SLURM_CALLS"]
        argv = sys.argv[1:]
        with open(os.path.join(calls, "sbatch"), "a") as f:
            f.write(json.dumps(argv) + "\\n")
        if os.environ.get("FAKE_SBATCH_FAIL"):
            print("sbatch: error: invalid partition specified: nope", file=sys.stderr)
            sys.exit(1)
        script, array, output, i = argv[-1], None, None, 0
        while i < len(argv) - 1:
            if argv[i].startswith("--array="):
                array = argv[i].split("=", 1)[1]
            elif argv[i] == "--output":
                output = argv[i + 1]
            i += 1
        jobid = "4242"
        tasks = [None]
        if array:
            a, b = array.split("%")[0].split("-")
            tasks = list(range(int(a), int(b) + 1))
        skip = os.environ.get("FAKE_SBATCH_SKIP", "")
        states = []
        for t in tasks:
            sid = jobid if t is None else f"{jobid}_{t}"
            if str(t) == skip:
                states.append(f"{sid}|TIMEOUT|0:0")
                continue
            env = dict(os.environ, SLURM_JOB_ID=jobid)
            if t is not None:
                env["SLURM_ARRAY_TASK_ID"] = str(t)
            out = output.replace("%A", jobid).replace("%a", str(t)).replace("%j", jobid)
            with open(out, "w") as f:
                rc = subprocess.call(["bash", script], env=env, stdout=f, stderr=subprocess.STDOUT)
            states.append(f"{sid}|{'COMPLETED' if rc == 0 else 'FAILED'}|{rc}:0")
        with open(os.path.join(calls, "sacct.out"), "w") as f:
            f.write("\\n".join(states) + "\\n")
        print(jobid)
        """,
    )
    make_exec(
        bindir / "squeue",
        """
        #!/usr/bin/env bash
        echo "$*" >> "$FAKE_SLURM_CALLS/squeue"
        n=$(wc -l < "$FAKE_SLURM_CALLS/squeue")
        if (( n <= ${FAKE_SQUEUE_RUNNING:-0} )); then echo RUNNING; fi
        exit 0
        """,
    )
    make_exec(
        bindir / "sacct",
        """
        #!/usr/bin/env bash
        echo "$*" >> "$FAKE_SLURM_CALLS/sacct"
        cat "$FAKE_SLURM_CALLS/sacct.out" 2>/dev/null
        """,
    )
    make_exec(
        bindir / "srun",
        """
        #!/usr/bin/env bash
        printf '%s\\n' "$*" >> "$FAKE_SLURM_CALLS/srun"
        while [[ $# -gt 0 && $1 == -* ]]; do shift; done
        exec "$@"
        """,
    )
    make_exec(
        bindir / "scancel",
        """
        #!/usr/bin/env bash
        echo "$*" >> "$FAKE_SLURM_CALLS/scancel"
        """,
    )
    env = {
        "PATH": f"{bindir}:{REAL_PYTHON_DIR}:{os.environ['PATH']}",
        "FAKE_SLURM_CALLS": str(calls),
    }
    return {"bin": bindir, "calls": calls, "env": env}

# shellcheck shell=bash
# Puts the msrs environment (tools/venv) first on PATH.  Sourced by run.sh/avsr.sh.
# Resolved through symlinks, so a recipe linked from anywhere finds the repository.
MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# shellcheck disable=SC1091
. "${MAIN_ROOT}/tools/activate_python.sh" || return 1
export PYTHONIOENCODING=UTF-8
# One BLAS/OpenMP thread per process: stages parallelise over jobs (--nj);
# training sets its own count (--train_threads).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

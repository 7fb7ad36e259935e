# Source this file to put the msrs environment first on PATH:
#   . tools/activate_python.sh
_msrs_tools="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ ! -x "${_msrs_tools}/venv/bin/python" ]; then
  echo "msrs: ${_msrs_tools}/venv is missing; run 'make -C ${_msrs_tools}' first" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="${_msrs_tools}/venv/bin:${PATH}"
export MSRS_ROOT="$(dirname "${_msrs_tools}")"
export PYTHONNOUSERSITE=1
unset _msrs_tools

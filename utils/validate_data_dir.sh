#!/usr/bin/env bash
# utils/validate_data_dir.sh -- check a data directory; print each problem as FILE:LINE: message.
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/validate_data_dir.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" validate_data_dir.sh "$@"

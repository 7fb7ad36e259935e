#!/usr/bin/env bash
# utils/filter_scp.sh -- print the lines of an scp whose key is (--exclude: is not) in an id list.
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/filter_scp.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" filter_scp.sh "$@"

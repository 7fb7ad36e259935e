#!/usr/bin/env bash
# utils/copy_data_dir.sh -- copy a data directory, optionally adding utterance/speaker prefixes or suffixes.
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/copy_data_dir.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" copy_data_dir.sh "$@"

#!/usr/bin/env bash
# utils/subset_data_dir.sh -- write a subset of a data directory (--utt-list, --spk-list, --first, --last, --random N [--seed S]).
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/subset_data_dir.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" subset_data_dir.sh "$@"

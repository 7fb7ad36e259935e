#!/usr/bin/env bash
# utils/fix_data_dir.sh -- repair a data directory in place (sort, drop inconsistent utterances, regenerate spk2utt; backups in DIR/.backup/).
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/fix_data_dir.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" fix_data_dir.sh "$@"

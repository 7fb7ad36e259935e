#!/usr/bin/env bash
# utils/combine_data.sh -- combine data directories: DEST SRC1 SRC2 ... (duplicate utterance ids are an error).
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/combine_data.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" combine_data.sh "$@"

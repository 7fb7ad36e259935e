#!/usr/bin/env bash
# utils/split_scp.sh -- split an scp into contiguous balanced parts: in.scp out.1 [out.2 ...] [--utt2spk FILE].
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/split_scp.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" split_scp.sh "$@"

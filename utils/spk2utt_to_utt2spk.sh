#!/usr/bin/env bash
# utils/spk2utt_to_utt2spk.sh -- print utt2spk for a spk2utt file (or stdin).
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/spk2utt_to_utt2spk.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" spk2utt_to_utt2spk.sh "$@"

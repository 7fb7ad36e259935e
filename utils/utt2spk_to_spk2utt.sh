#!/usr/bin/env bash
# utils/utt2spk_to_spk2utt.sh -- print spk2utt for a utt2spk file (or stdin).
# Implemented in utils/lib/msrs_datadir.py (Python 3 standard library only);
# run "utils/utt2spk_to_spk2utt.sh --help" for the details.
__here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
exec python3 -S -B "$__here/lib/msrs_datadir.py" utt2spk_to_spk2utt.sh "$@"

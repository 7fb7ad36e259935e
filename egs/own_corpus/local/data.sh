#!/usr/bin/env bash
# Stage 1 of the own-corpus recipe: data/{train,valid,test} from $OWN_TABLE or $OWN_CORPUS
# (db.sh).  See README.md and `python3 -m msrs.bin.own_data_prep --help`.
set -euo pipefail

text_case=upper           # transcript case: upper | lower | keep
punctuation=remove      # remove (punctuation and symbols become word breaks) | keep
letters=keep            # keep (letters of every script) | ascii (LRS3's rule: accents folded)
valid_fraction=0.1      # share of clips (or speakers) for validation
test_fraction=0.1       # ... and for the test set
split_by=clip           # clip | speaker (speaker-disjoint sets)
nj=4                    # threads reading media headers

help_message="Usage: local/data.sh [--text_case upper|lower|keep] [--punctuation remove|keep] [--letters keep|ascii]
       [--valid_fraction 0.1] [--test_fraction 0.1] [--split_by clip|speaker]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

if [ -n "${OWN_TABLE}" ]; then
    [ -f "${OWN_TABLE}" ] || { echo "local/data.sh: OWN_TABLE '${OWN_TABLE}' not found (db.sh)" >&2; exit 1; }
    src=(--table "${OWN_TABLE}")
else
    [ -d "${OWN_CORPUS}" ] || { echo "local/data.sh: OWN_CORPUS '${OWN_CORPUS}' not found: set OWN_CORPUS or OWN_TABLE in db.sh" >&2; exit 1; }
    src=(--corpus "${OWN_CORPUS}")
fi
python3 -m msrs.bin.own_data_prep "${src[@]}" --out data \
    --case "${text_case}" --punctuation "${punctuation}" --letters "${letters}" \
    --valid_fraction "${valid_fraction}" --test_fraction "${test_fraction}" --split_by "${split_by}" --nj "${nj}"

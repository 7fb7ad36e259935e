#!/usr/bin/env bash
# Stage 1 of the mini recipe: generate the synthetic LRS3-layout corpus (espeak-ng
# speech, animated mouth in a real face photo, GRID-like sentences) and prepare
# Kaldi-style data directories with the same LRS3 preparation as egs/lrs3.
set -euo pipefail

preset=mini             # synthetic corpus size: tiny | mini | small
grammar=grid            # grid (small vocabulary) or template (a few hundred words)
seed=0
nj=2                    # corpus generation workers
synth_opts=""           # further msrs.bin.synth_corpus options
valid_fraction=0.1      # share of trainval held out (speaker-disjoint)

help_message="Usage: local/data.sh [--preset mini] [--grammar grid] [--seed 0] [--nj 2]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

echo "local/data.sh: generating the ${preset} synthetic corpus in ${SYNTH_LRS3}"
# shellcheck disable=SC2086
python3 -m msrs.bin.synth_corpus --out "${SYNTH_LRS3}" --preset "${preset}" \
    --grammar "${grammar}" --seed "${seed}" --nj "${nj}" --progress false ${synth_opts}
python3 -m msrs.bin.lrs3_data_prep --lrs3 "${SYNTH_LRS3}" --out data \
    --valid_fraction "${valid_fraction}" --valid_mode speakers --progress false

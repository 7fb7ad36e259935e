#!/usr/bin/env bash
# Stage 1 of the mini recipe: generate the synthetic LRS3-layout corpus (espeak-ng
# speech, animated mouth in a real face photo, GRID-like sentences) and prepare
# Kaldi-style data directories with the same LRS3 preparation as egs/lrs3.
#
# With --test2 true a second test set is drawn as well: the preset's test sizes, new
# speakers (faces and voices) from another seed (--seed + 1000), speaker ids prefixed
# "t2" (13 characters, so they cannot collide with the main corpus' 11), written to
# ${SYNTH_LRS3}_test2 and prepared as data/test2 (decode it with --test_sets "test test2").
set -euo pipefail

preset=demo             # synthetic corpus size: tiny | demo | bench | mini | small (msrs/bin/synth_corpus.py)
grammar=grid            # grid (small vocabulary) or template (a few hundred words)
seed=0
test2=auto              # also prepare data/test2 (true | false | auto: true for the tiny, demo and bench presets)
nj=2                    # corpus generation workers
synth_opts=""           # further msrs.bin.synth_corpus options (both corpora)
valid_fraction=0.1      # share of trainval held out (speaker-disjoint)

help_message="Usage: local/data.sh [--preset demo] [--grammar grid] [--seed 0] [--test2 true|false|auto] [--nj 2]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

if [ "${test2}" = auto ]; then
    case "${preset}" in tiny|demo|bench) test2=true ;; *) test2=false ;; esac
fi
case "${test2}" in true|false) ;; *) echo "local/data.sh: --test2 takes true, false or auto; got '${test2}'" >&2; exit 2 ;; esac

echo "local/data.sh: generating the ${preset} synthetic corpus in ${SYNTH_LRS3}"
# shellcheck disable=SC2086
python3 -m msrs.bin.synth_corpus --out "${SYNTH_LRS3}" --preset "${preset}" \
    --grammar "${grammar}" --seed "${seed}" --nj "${nj}" --progress false ${synth_opts}
python3 -m msrs.bin.lrs3_data_prep --lrs3 "${SYNTH_LRS3}" --out data \
    --valid_fraction "${valid_fraction}" --valid_mode speakers --progress false

# run.sh refuses to mix these data with dumps and models of another corpus
echo "preset=${preset} grammar=${grammar} seed=${seed} test2=${test2}" > data/.synth_corpus

if [ "${test2}" = true ]; then
    echo "local/data.sh: generating the second test set of ${preset} (new speakers, seed $((seed + 1000))) in ${SYNTH_LRS3}_test2"
    # shellcheck disable=SC2086
    python3 -m msrs.bin.synth_corpus --out "${SYNTH_LRS3}_test2" --preset "${preset}" --test2 \
        --grammar "${grammar}" --seed "${seed}" --nj "${nj}" --progress false ${synth_opts}
    rm -rf data/.test2_prep data/test2
    python3 -m msrs.bin.lrs3_data_prep --lrs3 "${SYNTH_LRS3}_test2" --out data/.test2_prep \
        --test_set test2 --progress false
    mv data/.test2_prep/test2 data/test2
    rm -rf data/.test2_prep
    # The guarantee the "t2" prefix gives, checked: no speaker of test2 is in train/valid/test.
    _shared=$(cat data/train/spk2utt data/valid/spk2utt data/test/spk2utt | awk '{print $1}' | sort -u \
        | comm -12 - <(awk '{print $1}' data/test2/spk2utt | sort -u) | head -n 3)
    if [ -n "${_shared}" ]; then
        echo "local/data.sh: ERROR: speakers of data/test2 also in the main corpus: ${_shared}" >&2; exit 1
    fi
    echo "local/data.sh: data/test2: $(wc -l < data/test2/text) utterances of $(wc -l < data/test2/spk2utt) new speakers"
fi

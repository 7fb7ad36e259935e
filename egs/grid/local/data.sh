#!/usr/bin/env bash
# Stage 1 of the GRID recipe: Kaldi-style data directories from the GRID copy in $GRID
# (db.sh): data/{train,valid,test}_<split>.  Speaker from the s<N> folder, transcript
# from the .align file (sil/sp dropped) checked against the sentence the file name
# encodes.  See README.md and `python3 -m msrs.bin.grid_data_prep --help`.
set -euo pipefail

split=unseen            # unseen: s1 s2 s20 s22 are the test set (LipNet);
                        # overlapped: --test_per_speaker sentences of every speaker are
test_per_speaker=255    # overlapped split: test sentences per speaker (LipNet: 255)
valid_per_speaker=10    # validation sentences per training speaker (our choice)
text_source=align       # align, or filename (the sentence code; a copy without alignments)
nj=4                    # threads reading alignments and media headers
prep_opts=""            # further msrs.bin.grid_data_prep options

help_message="Usage: local/data.sh [--split unseen|overlapped] [--test_per_speaker 255] [--valid_per_speaker 10] [--text_source align|filename] [--nj 4]"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

if [ ! -d "${GRID}" ]; then
    echo "local/data.sh: GRID directory '${GRID}' not found." >&2
    echo "  Set GRID in db.sh or the environment (GRID=/data/GRID ./run.sh ...);" >&2
    echo "  it must hold the speakers' videos s<N>/<id>.mpg and the alignments (README.md, 'Getting GRID')." >&2
    exit 1
fi
echo "local/data.sh: preparing data/{train,valid,test}_${split} from ${GRID}"
# shellcheck disable=SC2086
python3 -m msrs.bin.grid_data_prep --grid "${GRID}" --out data --split "${split}" \
    --train_set "train_${split}" --valid_set "valid_${split}" --test_set "test_${split}" \
    --test_per_speaker "${test_per_speaker}" --valid_per_speaker "${valid_per_speaker}" \
    --text_source "${text_source}" --nj "${nj}" --progress false ${prep_opts}

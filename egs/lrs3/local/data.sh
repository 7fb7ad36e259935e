#!/usr/bin/env bash
# Stage 1 of the LRS3 recipe: Kaldi-style data directories data/{train,valid,test}
# from the LRS3 tree in $LRS3 (db.sh).  Pretrain clips longer than --max_duration
# are cut at word boundaries; train = pretrain + trainval - valid; test = test/.
# See docs/data.md ("Stage 1") and `python3 -m msrs.bin.lrs3_data_prep --help`.
set -euo pipefail

valid_list=""           # validation ids (AV-HuBERT lrs3-valid.id); default: $LRS3_VALID_LIST from db.sh
valid_mode=clips        # without a list: clips (AV-HuBERT's rule: 1,200 trainval clips drawn uniformly,
                        # only they leave train) or speakers (speaker-disjoint; their pretrain clips leave too)
max_duration=16         # seconds; longer pretrain clips are segmented (Auto-AVSR: 16)
nj=4                    # threads reading transcripts and media headers
prep_opts=""            # further msrs.bin.lrs3_data_prep options (e.g. "--seg_margin 0")

help_message="Usage: local/data.sh [--valid_list FILE] [--valid_mode clips|speakers] [--max_duration 16] [--nj 4] [--prep_opts '...']"

. ./path.sh
. ./db.sh
. utils/parse_options.sh

valid_list=${valid_list:-${LRS3_VALID_LIST}}

if [ ! -d "${LRS3}" ]; then
    echo "local/data.sh: LRS3 directory '${LRS3}' not found." >&2
    echo "  Set LRS3 in db.sh or the environment (LRS3=/data/LRS3 ./run.sh ...);" >&2
    echo "  it must hold pretrain/ trainval/ test/." >&2
    exit 1
fi
for split in pretrain trainval test; do
    if [ ! -d "${LRS3}/${split}" ]; then
        echo "local/data.sh: ${LRS3}/${split} is missing (expected pretrain/ trainval/ test/ under \$LRS3)." >&2
        exit 1
    fi
done
opts=(--valid_mode "${valid_mode}")
if [ -n "${valid_list}" ]; then
    [ -f "${valid_list}" ] || { echo "local/data.sh: --valid_list ${valid_list}: no such file" >&2; exit 1; }
    opts+=(--valid_list "${valid_list}")
fi

echo "local/data.sh: preparing data/{train,valid,test} from ${LRS3}"
# shellcheck disable=SC2086
python3 -m msrs.bin.lrs3_data_prep --lrs3 "${LRS3}" --out data \
    --max_duration "${max_duration}" --nj "${nj}" --progress false "${opts[@]}" ${prep_opts}

# The standard LRS3 test set has 1,321 utterances and 9,890 words: a WER on any other
# set (clips missing from the copy or dropped above) is not comparable with published ones.
n_utt=$(wc -l < data/test/text)
n_words=$(awk '{ n += NF - 1 } END { print n + 0 }' data/test/text)
if [ "${n_utt}" -ne 1321 ] || [ "${n_words}" -ne 9890 ]; then
    {
        echo "##########################################################################"
        echo "local/data.sh: WARNING: data/test has ${n_utt} utterances / ${n_words} words;"
        echo "  the standard LRS3 test set has 1,321 / 9,890. WERs on this set are NOT"
        echo "  comparable with published LRS3 results (check \$LRS3/test and the failures above)."
        echo "##########################################################################"
    } >&2
else
    echo "local/data.sh: data/test is the standard LRS3 test set (1,321 utterances, 9,890 words)"
fi

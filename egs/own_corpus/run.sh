#!/usr/bin/env bash
# own_corpus: fine-tune a packed msrs model on your own audio-visual corpus (README.md).
# Set OWN_CORPUS (videos + sidecar .txt) or OWN_TABLE (CSV/TSV path,transcript[,speaker]) and
# INIT_ARCHIVE (a model.tar.gz from stage 11 of any recipe) in db.sh or the environment.
#
#   # same language as the model: its tokens, the whole model fine-tuned
#   OWN_TABLE=/data/mine/list.csv INIT_ARCHIVE=../grid/exp/unseen/vsr_train_vsr_msrs/model.tar.gz ./run.sh
#   # tiny data: keep the visual frontend and the encoder as they are
#   ./run.sh --freeze "video_frontend encoder"
#   # another language: new SentencePiece units from your transcripts (stage 4), the
#   # vocabulary-sized layers (embedding, output, CTC) start from scratch
#   ./run.sh --new_tokens true --nbpe 300 --local_data_opts "--text_case keep --letters keep"
#
# Stages (egs/TEMPLATE/avsr.sh): 1 data (local/data.sh), 2 mouth ROIs made with the packed
# model's ROI options (videos at any frame rate resampled to 25 fps), 3 filters, 4 tokens,
# 6 stats, 7 fine-tuning, 8-9 decoding and scoring of the test share, 10 report, 11 pack.
set -euo pipefail

stage=1                 # first stage (see egs/TEMPLATE/avsr.sh)
stop_stage=11           # last stage
modality=""             # vsr | asr | avsr (default: the packed model's)
init_archive=""         # the packed model; default: INIT_ARCHIVE from db.sh
finetune_config=conf/finetune.yaml  # merged over the packed model's training config
train_config=""         # without an archive: the config to train from scratch
freeze=""               # parameter prefixes kept fixed, e.g. "video_frontend" or "video_frontend encoder"
new_tokens=false        # true: stage 4 builds a token list from your transcripts (another language)
token_type=bpe          # --new_tokens true: bpe or char
nbpe=300                # --new_tokens true: SentencePiece units
bpemode=unigram
tag=finetune            # experiment name -> exp/<modality>_<tag>
ngpu=1                  # GPUs for training
nj=4                    # parallel jobs (data, ROIs, decoding)
gpu_inference=false
roi_opts=""             # default: the packed model's stage-2 options, plus --resample_fps true
local_data_opts=""      # local/data.sh options (--text_case, --punctuation, --letters, --valid_fraction ...)
min_frames=12
max_frames=600
inference_config=conf/decode.yaml
train_args=""           # extra options for msrs.bin.avsr_train (e.g. "--max_epoch 5")
inference_args=""
noise_file=""           # default: NOISE_FILE from db.sh
test_snrs=""

help_message="Usage: ./run.sh [--stage N] [--stop_stage M] [--init_archive X.tar.gz] [--freeze 'video_frontend encoder']
       [--new_tokens true --nbpe 300] [--local_data_opts '--text_case keep'] ...  (options: see the top of run.sh)"

. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) $*"; }
init_archive=${init_archive:-${INIT_ARCHIVE}}
noise_file=${noise_file:-${NOISE_FILE}}
init_args=""
token_opts=(--token_type "${token_type}" --bpemode "${bpemode}" --nbpe "${nbpe}")
if [ -n "${init_archive}" ]; then
    [ -f "${init_archive}" ] || { log "INIT_ARCHIVE '${init_archive}' not found (db.sh or --init_archive)"; exit 2; }
    mkdir -p exp
    train_config=exp/train_${tag}.yaml
    # Sets init_param, init_args, model_token_type, token_tag, model_modality, archive_roi_opts
    # (and copies the model's tokens to data/token_list_init/<token_tag>).
    ft=$(python3 -m msrs.bin.finetune_config --model_archive "${init_archive}" \
        --overrides "${finetune_config}" --out "${train_config}" \
        --token_listdir data/token_list_init --new_tokens "${new_tokens}") \
        || { log "msrs.bin.finetune_config failed on ${init_archive} (see above)"; exit 1; }
    eval "${ft}"
    if [ "${new_tokens}" != true ]; then
        # the model's own units: avsr.sh finds them (stage 4 marked done) at data/token_list_init/<tag>
        token_opts=(--token_type "${model_token_type}" --token_listdir data/token_list_init --bpemode "${token_tag}" --nbpe "")
    fi
    [ -z "${modality}" ] || [ "${modality}" = "${model_modality}" ] \
        || { log "--modality ${modality}: the packed model is ${model_modality}"; exit 2; }
    modality=${model_modality}
    if [ -z "${roi_opts}" ]; then  # ROIs as the model saw them
        roi_opts="${archive_roi_opts} --resample_fps true"
        log "mouth ROIs with the packed model's options: ${roi_opts}"
    fi
else
    [ -n "${train_config}" ] || { log "set INIT_ARCHIVE (db.sh) or --init_archive to fine-tune, or --train_config to train from scratch"; exit 2; }
    modality=${modality:-vsr}
    roi_opts=${roi_opts:-"--detector mediapipe --crop_size 96 --roi_format mp4 --resample_fps true"}
fi
freeze_args=""  # one --freeze_param with all prefixes (ESPnet's option takes a list; a second one replaces the first)
[ -z "${freeze}" ] || freeze_args=" --freeze_param ${freeze}"
[ -z "${freeze}" ] || log "frozen during fine-tuning: ${freeze}"

./avsr.sh \
    --stage "${stage}" --stop_stage "${stop_stage}" \
    --local_data_opts "--nj ${nj} ${local_data_opts}" \
    --ngpu "${ngpu}" --nj "${nj}" --inference_nj "${nj}" --gpu_inference "${gpu_inference}" \
    --roi_opts "${roi_opts}" --min_frames "${min_frames}" --max_frames "${max_frames}" \
    "${token_opts[@]}" \
    --noise_file "${noise_file}" --test_snrs "${test_snrs}" \
    --modality "${modality}" --train_config "${train_config}" --tag "${tag}" \
    --train_args "${init_args}${freeze_args} ${train_args}" \
    --inference_config "${inference_config}" --inference_args "${inference_args}"

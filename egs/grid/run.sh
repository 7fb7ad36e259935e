#!/usr/bin/env bash
# grid: the msrs stages on the GRID audio-visual corpus (README.md: download, LipNet and
# later numbers mapped to commands).  Set GRID (and optionally NOISE_FILE) in db.sh or the
# environment.  Stages: see egs/TEMPLATE/avsr.sh (1 data, 2 ROIs, 3 filters, 4 tokens,
# 6 stats, 7 training, 8 decoding, 9 scoring, 10 RESULTS.md, 11 pack).
#
#   # lip reading, unseen speakers (s1 s2 s20 s22 held out), MSRS, one GPU, all stages:
#   GRID=/data/GRID ./run.sh --split unseen --modality vsr
#   # overlapped speakers (255 sentences of every speaker held out), the dense baseline:
#   ./run.sh --split overlapped --modality vsr --train_config conf/train_vsr_dense.yaml
#   # audio-visual (babble at --test_snrs needs NOISE_FILE):
#   ./run.sh --split unseen --modality avsr --train_config conf/train_avsr_msrs.yaml
#   # data stages only, ROIs on 16 local processes:
#   ./run.sh --stage 1 --stop_stage 4 --nj 16
#
# Each split has its own data sets (data/{train,valid,test}_<split>) and experiment
# directory (exp/<split>/), so both splits live side by side.
set -euo pipefail

stage=1                 # first stage (see egs/TEMPLATE/avsr.sh)
stop_stage=11           # last stage
split=unseen            # unseen | overlapped (local/data.sh)
modality=vsr            # vsr | asr | avsr
train_config=""         # default: conf/train_<modality>_msrs.yaml
tag=""                  # experiment name (default: the config file name) -> exp/<split>/<modality>_<tag>
ngpu=1                  # GPUs for training
nj=8                    # parallel jobs for data preparation and ROI extraction
inference_nj=4          # parallel decoding jobs
gpu_inference=true      # decode on GPUs
train_threads=1         # CPU threads per training process
test_snrs="-5 0 5"      # babble SNRs (dB) decoded besides clean (asr/avsr; needs NOISE_FILE)
noise_file=""           # babble wav; default: NOISE_FILE from db.sh
roi_opts="--detector mediapipe --crop_size 96 --roi_format mp4"  # msrs.bin.extract_roi options
local_data_opts=""      # extra local/data.sh options (--test_per_speaker, --valid_per_speaker, --text_source)
min_frames=12           # training utterances shorter than this are dropped
max_frames=600          # ... and longer (GRID clips are 75 frames)
inference_config=conf/decode.yaml
train_args=""           # extra options for msrs.bin.avsr_train (e.g. "--max_epoch 2")
inference_args=""       # extra options for msrs.bin.avsr_inference
expdir=""               # default: exp/<split>
dumpdir=dump

help_message="Usage: ./run.sh [--stage N] [--stop_stage M] [--split unseen|overlapped] [--modality vsr|asr|avsr]
       [--train_config conf/...yaml] [--ngpu 1] [--nj 8] ...  (options: see the top of run.sh)"

. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) $*"; }
case "${split}" in unseen|overlapped) ;; *) log "--split must be unseen or overlapped, got '${split}'"; exit 2;; esac
case "${modality}" in vsr|asr|avsr) ;; *) log "--modality must be vsr, asr or avsr, got '${modality}'"; exit 2;; esac
train_config=${train_config:-conf/train_${modality}_msrs.yaml}
[ -f "${train_config}" ] || { log "no such config: ${train_config}"; exit 2; }
expdir=${expdir:-exp/${split}}
noise_file=${noise_file:-${NOISE_FILE}}
if [ -n "${noise_file}" ] && [ ! -f "${noise_file}" ]; then
    log "noise file '${noise_file}' not found (NOISE_FILE in db.sh or --noise_file)"; exit 2
fi
if [ -z "${noise_file}" ] || [ "${modality}" = vsr ]; then
    [ -z "${noise_file}" ] && [ "${modality}" != vsr ] && [ -n "${test_snrs}" ] \
        && log "no NOISE_FILE: training without babble and decoding clean only"
    test_snrs=""
fi

./avsr.sh \
    --stage "${stage}" --stop_stage "${stop_stage}" \
    --train_set "train_${split}" --valid_set "valid_${split}" --test_sets "test_${split}" \
    --local_data_opts "--split ${split} --nj ${nj} ${local_data_opts}" \
    --ngpu "${ngpu}" --nj "${nj}" --inference_nj "${inference_nj}" \
    --gpu_inference "${gpu_inference}" --train_threads "${train_threads}" \
    --dumpdir "${dumpdir}" --expdir "${expdir}" \
    --roi_opts "${roi_opts}" --min_frames "${min_frames}" --max_frames "${max_frames}" \
    --token_type char \
    --noise_file "${noise_file}" --test_snrs "${test_snrs}" \
    --modality "${modality}" --train_config "${train_config}" ${tag:+--tag "${tag}"} \
    --train_args "${train_args}" \
    --inference_config "${inference_config}" --inference_args "${inference_args}"

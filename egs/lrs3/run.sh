#!/usr/bin/env bash
# lrs3: the msrs stages on the real LRS3 corpus with the paper-size models (egs/lrs3/conf).
# Set LRS3 (and optionally LRS3_VALID_LIST, LRS3_LANDMARKS, NOISE_FILE) in db.sh or the
# environment.  Stages: see egs/TEMPLATE/avsr.sh (1 data, 2 ROIs, 3 filters, 4 tokens,
# 5 LM, 6 stats, 7 training, 8 decoding, 9 scoring, 10 RESULTS.md, 11 pack).
#
#   # lip reading with MSRS (search, then dense), 4 GPUs, the whole pipeline:
#   LRS3=/data/LRS3 NOISE_FILE=/data/babble_16k.wav ./run.sh --modality vsr
#   # the same with another config (conf/train_<modality>_<variant>.yaml):
#   ./run.sh --modality vsr --train_config conf/train_vsr_dense.yaml        # dense from scratch
#   ./run.sh --modality vsr --train_config conf/train_vsr_rigl.yaml         # a sparse baseline
#   ./run.sh --modality vsr --train_config conf/train_vsr_msrs_ebranchformer.yaml  # E-Branchformer
#   # AVSR with MSRS and the sparse continuation, decoded clean and in babble at 6 SNRs:
#   ./run.sh --modality avsr --train_config conf/train_avsr_msrs_sparse.yaml
#   # dense curriculum baseline (Auto-AVSR): <= 4 s subset at lr 2e-4, then the full set
#   # from that model (exp/curriculum_4s/..., then exp/vsr_train_vsr_dense_curriculum):
#   ./run.sh --modality vsr --curriculum true
#   # low-resource: the 30 h trainval part only (exp/subset_utt_regex__trainval_/...):
#   ./run.sh --modality vsr --train_subset "utt_regex=_trainval_"
#   # data preparation only, ROIs on 32 local processes:
#   ./run.sh --stage 1 --stop_stage 4 --nj 32
#   # 8 GPUs on one node, same frames per GPU (3,500 bins) and about the same update size:
#   ./run.sh --stage 6 --ngpu 8 --batch_bins_per_gpu 3500 --train_args "--accum_grad 2"
#   # 2 nodes x 8 GPUs through slurm (cmd.sh: cmd_backend=slurm, conf/slurm.conf from
#   # utils/slurm.conf.example; the exp directory must be on a shared file system):
#   cmd_backend=slurm ./run.sh --stage 6 --ngpu 8 --num_nodes 2 --batch_bins_per_gpu 3500 \
#       --train_args "--accum_grad 1"
#   # torchrun instead of slurm/run.pl: see docs/models.md, "Multi-node with torchrun"
#
# The configs' batch_bins is the global batch that ESPnet splits over all GPUs, sized
# for 4 x 80 GB (see the config headers); --batch_bins_per_gpu scales it with the GPU
# count, and stage 7 logs the per-GPU figure (local/schedule_args.py).  --auto_schedule true (default) counts the
# updates per epoch of the actual data and batch and sets the warm-up + cosine schedule
# to span 5 + 75 epochs (local/schedule_args.py).
set -euo pipefail

stage=1                 # first stage (see egs/TEMPLATE/avsr.sh)
stop_stage=11           # last stage
modality=vsr            # vsr | asr | avsr
train_config=""         # default: conf/train_<modality>_msrs.yaml (--curriculum true: conf/train_vsr_dense_curriculum.yaml)
tag=""                  # experiment name (default: the config file name) -> exp/<modality>_<tag>
ngpu=4                  # GPUs per node for training
num_nodes=1             # nodes for training (needs cmd_backend=slurm)
nj=16                   # parallel jobs for data preparation and ROI extraction
inference_nj=4          # parallel decoding jobs (one GPU each with --gpu_inference true)
gpu_inference=true      # decode on GPUs
train_threads=1         # CPU threads per training process
test_snrs="-5 0 5 10 15 20"   # babble SNRs (dB) decoded besides clean (asr/avsr; needs NOISE_FILE)
noise_file=""           # babble wav; default: NOISE_FILE from db.sh
roi_opts=""             # msrs.bin.extract_roi options; default: MediaPipe detector (+ LRS3_LANDMARKS), 96 px crops,
                        # grey H.264 at CRF 23 (~10 GB for LRS3; "--roi_format npy": ~363 GB, lossless)
local_data_opts=""      # extra local/data.sh options (--valid_list, --max_duration, --prep_opts)
min_frames=12           # training utterances shorter than this are dropped (0.48 s; our choice)
max_frames=600          # ... and longer than this (24 s, Auto-AVSR v1.0.0's segment length; our choice)
nbpe=5000               # SentencePiece units (Auto-AVSR: unigram 5000)
bpemode=unigram
stats_from_frames=true  # stage 6: shape files from utt2num_frames (false: ESPnet collect-stats decodes every dump)
auto_schedule=true      # set the scheduler's step counts from the updates per epoch of the data
warmup_epochs=5         # warm-up length for --auto_schedule (Auto-AVSR: 5 epochs)
curriculum=false        # dense curriculum baseline: first train --curriculum_config on --curriculum_subset
curriculum_config=conf/train_vsr_dense_curriculum4s.yaml
curriculum_subset="max_duration=4"   # Auto-AVSR: utterances of <= 100 frames (4 s)
curriculum_expdir=""    # default: <expdir>/curriculum_4s
train_subset=""         # train on a subset of dump/train, e.g. "utt_regex=_trainval_" (30 h) or "hours=100";
                        # its experiments go to <expdir>/subset_<subset> (own statistics)
use_lm=false            # train (stage 5) and use a Transformer LM (conf/lm.yaml, conf/decode_lm.yaml)
lm_config=conf/lm.yaml
inference_config=""     # default: conf/decode.yaml (conf/decode_lm.yaml with --use_lm true)
train_args=""           # extra options for msrs.bin.avsr_train (e.g. "--max_epoch 50 --use_amp true")
batch_bins_per_gpu=""   # per-GPU batch: sets batch_bins = this x ngpu x num_nodes (the configs' batch_bins
                        # is global: VSR 14000 = 3500 per GPU of 4, AVSR 6150000 = 1537500 per GPU of 4)
inference_args=""       # extra options for msrs.bin.avsr_inference
inference_tag=""        # decode directory prefix (default: decode_<inference config name>)
expdir=exp
dumpdir=dump

help_message="Usage: ./run.sh [--stage N] [--stop_stage M] [--modality vsr|asr|avsr] [--train_config conf/...yaml]
       [--ngpu 4] [--num_nodes 1] [--curriculum true] [--use_lm true] ...  (options: see the top of run.sh)"

. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh
# Killing this script (even with kill -9) stops the jobs of every stage (utils/lib/msrs_guard.py).
export MSRS_DRIVER_PID="${MSRS_DRIVER_PID:+${MSRS_DRIVER_PID} }$$"

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) $*"; }
max() { if [ "$1" -ge "$2" ]; then echo "$1"; else echo "$2"; fi; }
min() { if [ "$1" -le "$2" ]; then echo "$1"; else echo "$2"; fi; }

case "${modality}" in vsr|asr|avsr) ;; *) log "--modality must be vsr, asr or avsr, got '${modality}'"; exit 2;; esac
if [ -z "${train_config}" ]; then
    if [ "${curriculum}" = true ]; then
        train_config=conf/train_${modality}_dense_curriculum.yaml
    else
        train_config=conf/train_${modality}_msrs.yaml
    fi
fi
[ -f "${train_config}" ] || { log "no such config: ${train_config}"; exit 2; }
if [ "${curriculum}" = true ] && [ ! -f "${curriculum_config}" ]; then
    log "no such config: ${curriculum_config}"; exit 2
fi
[ -n "${tag}" ] || tag=$(basename "${train_config}" .yaml)
noise_file=${noise_file:-${NOISE_FILE}}
if [ -n "${noise_file}" ] && [ ! -f "${noise_file}" ]; then
    log "noise file '${noise_file}' not found (NOISE_FILE in db.sh or --noise_file)"; exit 2
fi
if [ -z "${noise_file}" ] || [ "${modality}" = vsr ]; then
    # Babble only touches the audio stream; without a noise file only clean is decoded.
    [ -z "${noise_file}" ] && [ "${modality}" != vsr ] && [ -n "${test_snrs}" ] \
        && log "no NOISE_FILE: training without babble and decoding clean only"
    test_snrs=""
fi
if [ -z "${roi_opts}" ]; then
    roi_opts="--detector mediapipe --crop_size 96 --roi_format mp4"
    [ -n "${LRS3_LANDMARKS}" ] && roi_opts="${roi_opts} --landmarks_dir ${LRS3_LANDMARKS}"
fi
if [ -z "${inference_config}" ]; then
    if [ "${use_lm}" = true ]; then inference_config=conf/decode_lm.yaml; else inference_config=conf/decode.yaml; fi
fi
curriculum_expdir=${curriculum_expdir:-${expdir}/curriculum_4s}
# avsr.sh keys the statistics by modality and tokens only, so a model on another training
# subset needs its own exp directory.
mexpdir=${expdir}
[ -z "${train_subset}" ] || mexpdir=${expdir}/subset_$(echo "${train_subset}" | tr '=,' '__')
world_size=$(( ngpu * num_nodes )); [ "${world_size}" -ge 1 ] || world_size=1
if [ -n "${batch_bins_per_gpu}" ]; then
    [[ "${batch_bins_per_gpu}" =~ ^[1-9][0-9]*$ ]] \
        || { log "--batch_bins_per_gpu must be a positive integer, got '${batch_bins_per_gpu}'"; exit 2; }
    train_args="--batch_bins $(( batch_bins_per_gpu * world_size )) ${train_args}"
    log "batch_bins ${batch_bins_per_gpu} per GPU x ${world_size} GPU(s) = $(( batch_bins_per_gpu * world_size ))"
fi
token_tag=${bpemode}${nbpe}

common=(
    --ngpu "${ngpu}" --num_nodes "${num_nodes}" --nj "${nj}" --inference_nj "${inference_nj}"
    --gpu_inference "${gpu_inference}" --train_threads "${train_threads}"
    --dumpdir "${dumpdir}"
    --local_data_opts "--nj ${nj} ${local_data_opts}"
    --roi_opts "${roi_opts}"
    --min_frames "${min_frames}" --max_frames "${max_frames}"
    --stats_from_frames "${stats_from_frames}"
    --token_type bpe --bpemode "${bpemode}" --nbpe "${nbpe}"
    --noise_file "${noise_file}"
    --use_lm "${use_lm}" --lm_config "${lm_config}"
    --inference_config "${inference_config}" --inference_args "${inference_args}"
    --modality "${modality}"
)
[ -z "${inference_tag}" ] || common+=(--inference_tag "${inference_tag}")

# Stages 6-7 of one model: statistics, then training with the schedule fitted to the data.
#   train_model CONFIG TAG EXPDIR SUBSET EXTRA_TRAIN_ARGS
train_model() {
    local config=$1 mtag=$2 mexp=$3 subset=$4 targs=$5 s e sched="" shapes=()
    s=$(max "${stage}" 6); e=$(min "${stop_stage}" 7)
    [ "${s}" -le "${e}" ] || return 0
    local opts=(--train_config "${config}" --tag "${mtag}" --expdir "${mexp}" --train_subset "${subset}")
    if [ "${s}" -le 6 ]; then
        ./avsr.sh "${common[@]}" "${opts[@]}" --stage 6 --stop_stage 6 --train_args "${targs}"
    fi
    [ "${e}" -ge 7 ] || return 0
    if [ "${auto_schedule}" = true ] && [ ! -f "${mexp}/${modality}_${mtag}/.done.stage7" ]; then
        # avsr.sh keys statistics by subset: stats_<modality>_<tokens>[_<subset tag>]
        local stats=${mexp}/stats_${modality}_${token_tag}${subset:+_$(echo "${subset}" | tr '=,' '__')}/train st x
        case "${modality}" in vsr) st="video" ;; asr) st="speech" ;; avsr) st="video speech" ;; esac
        for x in ${st}; do shapes+=(--shape_file "${stats}/${x}_shape"); done
        shapes+=(--shape_file "${stats}/text_shape.bpe")
        sched=$(python3 local/schedule_args.py --config "${config}" "${shapes[@]}" \
            --world_size "${world_size}" --warmup_epochs "${warmup_epochs}" --train_args "${targs}") \
            || { log "local/schedule_args.py failed (needs stage 6: ${stats})"; exit 1; }
        [ -n "${sched}" ] && log "schedule for ${mtag}: ${sched}"
    fi
    ./avsr.sh "${common[@]}" "${opts[@]}" --stage 7 --stop_stage 7 --train_args "${targs} ${sched}"
}

# Stages 1-5: data, ROIs, filtering, tokens (from the full training set), LM.
if [ "${stage}" -le 5 ]; then
    ./avsr.sh "${common[@]}" --stage "${stage}" --stop_stage "$(min "${stop_stage}" 5)"
fi

if [ -n "${train_subset}" ] && [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    ./avsr.sh "${common[@]}" --stage 3 --stop_stage 3 --train_subset "${train_subset}"
fi

# Curriculum step 1: the short-utterance subset (stage 3) and its model (stages 6-7).
init_args=""
if [ "${curriculum}" = true ]; then
    if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
        ./avsr.sh "${common[@]}" --stage 3 --stop_stage 3 --train_subset "${curriculum_subset}"
    fi
    ctag=$(basename "${curriculum_config}" .yaml)
    train_model "${curriculum_config}" "${ctag}" "${curriculum_expdir}" "${curriculum_subset}" "${train_args}"
    init_model=${curriculum_expdir}/${modality}_${ctag}/valid.acc.ave.pth
    if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ] && [ ! -f "${mexpdir}/${modality}_${tag}/.done.stage7" ]; then
        [ -e "${init_model}" ] || { log "curriculum: ${init_model} missing (run step 1 first)"; exit 1; }
    fi
    init_args="--init_param ${init_model}"
fi

# Stages 6-7: the model.
train_model "${train_config}" "${tag}" "${mexpdir}" "${train_subset}" "${train_args} ${init_args}"

# Stages 8-9: decoding (clean and babble at --test_snrs) and scoring.
if [ "${stop_stage}" -ge 8 ] && [ "${stage}" -le 9 ]; then
    ./avsr.sh "${common[@]}" --train_config "${train_config}" --tag "${tag}" --expdir "${mexpdir}" \
        --train_subset "${train_subset}" --stage "$(max "${stage}" 8)" --stop_stage "$(min "${stop_stage}" 9)" --test_snrs "${test_snrs}"
fi

# Stage 10: RESULTS.md and plots over every experiment in exp/; stage 11: the archive.
if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
    ./avsr.sh "${common[@]}" --expdir "${expdir}" --stage 10 --stop_stage 10
fi
if [ "${stage}" -le 11 ] && [ "${stop_stage}" -ge 11 ]; then
    ./avsr.sh "${common[@]}" --train_config "${train_config}" --tag "${tag}" --expdir "${mexpdir}" \
        --train_subset "${train_subset}" --stage 11 --stop_stage 11
fi

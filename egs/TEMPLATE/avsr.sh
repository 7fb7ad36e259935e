#!/usr/bin/env bash
# msrs stage driver shared by every recipe (egs/<corpus>/run.sh calls it).
#
# Stages (run a range with --stage N --stop_stage M):
#   1  data preparation             local/data.sh -> data/<set>/
#   2  mouth-ROI extraction + audio  data/<set> -> dump/raw/<set>/ (--nj jobs, resumable)
#   3  filtering and subsets        dump/raw/<set> -> dump/<set>/ (length, empty text, --train_subset)
#   4  token list                   SentencePiece (or char) -> <token_listdir>/
#   5  language model (optional)    --use_lm true
#   6  statistics collection        shape files for batching -> <expdir>/stats_<modality>_<token tag>/
#   7  training                     --modality vsr|asr|avsr --train_config ... (resumes on rerun)
#   8  decoding                     test sets x {clean, --test_snrs} with the averaged model
#   9  scoring                      WER/CER, sclite-like result.txt
#   10 report                       RESULTS.md + PNG plots
#   11 pack                         model archive for msrs.bin.avsr_inference --model_archive
#
# A finished stage leaves a marker (.done.*) and is skipped on rerun unless --force true;
# stage 2 is marked done only when no utterance failed (a rerun retries just the failed ones).
# A failed stage stops the script and prints the log to read (its last 30 lines).
# Each output directory (extraction, statistics, training, decoding) is locked while a
# stage writes it: a second run on the same directory stops at once, naming the holder.
# The jobs (utils/run.pl, utils/slurm.pl) die with this driver (MSRS_DRIVER_PID).
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
min() { local a b; a=$1; for b in "$@"; do [ "$b" -le "$a" ] && a=$b; done; echo "$a"; }
SECONDS=0
driver_cmd="$0 $*"      # for the lock files (before parse_options.sh consumes the options)

# General
stage=1                 # first stage to run
stop_stage=11           # last stage to run
force=false             # rerun stages even if their .done marker exists
nj=4                    # parallel jobs for ROI extraction and statistics
inference_nj=4          # parallel decoding jobs
ngpu=1                  # GPUs per node for training (0: CPU)
num_nodes=1             # nodes for training (slurm: cmd_backend=slurm in cmd.sh)
train_threads=1         # CPU threads of each training process (OMP_NUM_THREADS)
gpu_inference=false     # decode on GPU
dumpdir=dump            # dumps (ROIs, audio, filtered data dirs)
expdir=exp              # experiments
python=python3          # python interpreter (path.sh puts tools/venv first)

# Data
local_data_opts=""      # options for local/data.sh
train_set=train
valid_set=valid
test_sets="test"
roi_opts=""             # options for msrs.bin.extract_roi (e.g. "--detector mediapipe")
min_frames=12           # drop training utterances shorter than this (video frames, 25 fps)
max_frames=600          # drop training utterances longer than this (video frames)
train_subset=""         # e.g. "max_duration=4" (curriculum subset) or "hours=30"

# Tokens
token_type=bpe          # bpe or char
nbpe=5000               # SentencePiece vocabulary size
bpemode=unigram         # unigram or bpe
token_listdir=data/token_list

# Language model
use_lm=false
lm_config=""
lm_args=""
lm_tag=""

# Statistics
stats_from_frames=true  # stage 6: shapes from utt2num_frames (false: collect-stats decodes every dump)

# Training
modality=vsr            # vsr | asr | avsr
train_config=""
train_args=""           # extra options for msrs.bin.avsr_train
tag=""                  # experiment name (default: from the config file name)
noise_file=""           # babble noise wav for augmentation and noisy tests

# Decoding
inference_config=""
inference_args=""
inference_model=valid.acc.ave.pth
inference_tag=""
test_snrs=""            # e.g. "-5 0 5": babble conditions decoded besides clean
skip_decode_clean=false

help_message=$(cat <<EOF
Usage: $0 [options]
Runs the msrs stages for one model; see the header of egs/TEMPLATE/avsr.sh.
EOF
)

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ $# -ne 0 ]; then
    log "unexpected positional arguments: $*"; echo "${help_message}"; exit 2
fi
case "${modality}" in vsr|asr|avsr) ;; *) log "--modality must be vsr, asr or avsr: ${modality}"; exit 2;; esac
case "${token_type}" in bpe|char) ;; *) log "--token_type must be bpe or char: ${token_type}"; exit 2;; esac

if [ "${token_type}" = bpe ]; then
    token_tag=${bpemode}${nbpe}
else
    token_tag=char
fi
tokendir=${token_listdir}/${token_tag}
token_list=${tokendir}/tokens.txt
bpemodel=${tokendir}/bpe.model
[ "${token_type}" = char ] && bpemodel=none

if [ -z "${tag}" ]; then
    if [ -n "${train_config}" ]; then
        tag="$(basename "${train_config}" .yaml)"
    else
        tag="train_${modality}"
    fi
fi
asr_exp=${expdir}/${modality}_${tag}
stats_dir=${expdir}/stats_${modality}_${token_tag}
if [ -z "${inference_tag}" ]; then
    if [ -n "${inference_config}" ]; then
        inference_tag=decode_$(basename "${inference_config}" .yaml)
    else
        inference_tag=decode
    fi
fi
lm_exp=${expdir}/lm_${lm_tag:-$(basename "${lm_config:-lm}" .yaml)}_${token_tag}

train_dump=${dumpdir}/${train_set}
if [ -n "${train_subset}" ]; then
    subset_tag=$(echo "${train_subset}" | tr '=,' '__')
    train_dump=${dumpdir}/${train_set}_${subset_tag}
    stats_dir=${stats_dir}_${subset_tag}
fi

# Streams the model reads, per modality, and their data names/types.
case "${modality}" in vsr) streams="video" ;; asr) streams="speech" ;; avsr) streams="video speech" ;; esac
stream_scp() { case $1 in video) echo "video.scp,video,video" ;; speech) echo "wav.scp,speech,sound" ;; esac; }
data_opts() {  # $1: dump dir, $2: prefix (train_ / valid_ / "")
    local d=$1 p=$2 s opts=""
    for s in ${streams}; do opts="${opts} --${p}data_path_and_name_and_type ${d}/$(stream_scp "${s}")"; done
    echo "${opts}"
}
shape_opts() {  # $1: stats subdir (train|valid), $2: prefix
    local d=${stats_dir}/$1 p=$2 s opts=""
    for s in ${streams}; do opts="${opts} --${p}shape_file ${d}/${s}_shape"; done
    echo "${opts} --${p}shape_file ${d}/text_shape.${token_type}"
}
# Training noise goes into the preprocessor (babble at preprocessor_conf.snr_choices).
noise_opts() {
    if [ -n "${noise_file}" ] && [ "${modality}" != vsr ]; then
        echo "--preprocessor_conf noise_file=${noise_file}"
    fi
}

# Stage bookkeeping: run_stage N NAME MARKER; the body follows when it returns 0.
want() { [ "$1" -ge "${stage}" ] && [ "$1" -le "${stop_stage}" ]; }
is_done() { [ "${force}" != true ] && [ -f "$1" ]; }
fail() {  # fail STAGE LOG: the log's path and the last 30 lines of it (of a pattern
    # such as .../decode.*.log: of the first job log that did not end with code 0)
    local f=$2
    # shellcheck disable=SC2086
    [ -f "${f}" ] || f=$(grep -L "^# Ended (code 0)" $2 2>/dev/null | head -n 1 || true)
    if [ -n "${f}" ] && [ -f "${f}" ]; then
        log "stage $1 FAILED; last 30 lines of ${f}:"
        tail -n 30 "${f}" | sed 's/^/    /' >&2
    fi
    log "stage $1 FAILED; see $2"; exit 1
}
need() {  # need FILE STAGE WHAT: stop before a stage that reads a file another stage makes
    [ -e "$1" ] || { log "ERROR: $1 not found: $3 is made by stage $2 (run --stage $2 first)"; exit 1; }
}

# Jobs die with their driver: utils/run.pl and utils/slurm.pl stop them when a pid here is gone.
export MSRS_DRIVER_PID="${MSRS_DRIVER_PID:+${MSRS_DRIVER_PID} }$$"
# lock_dir DIR: hold an exclusive lock on DIR/.lock until unlock_dir (or this driver exits);
# when another run holds it, stop at once naming that run (pid, host, start time, command).
lock_fd=""
lock_dir() {
    mkdir -p "$1"
    exec {lock_fd}>>"$1/.lock"
    if ! flock -n "${lock_fd}"; then
        local holder pid
        holder=$(head -n 1 "$1/.lock" 2>/dev/null); pid=$(echo "${holder}" | awk '{print $2}')
        [ -n "${pid}" ] && ! kill -0 "${pid}" 2>/dev/null && holder="${holder} (that driver is gone; its jobs still run)"
        log "ERROR: $1 is in use by another run: ${holder:-unknown process}. Wait for it or stop it; this run does nothing."
        exit 3
    fi
    echo "pid $$ on $(hostname) since $(date '+%Y-%m-%dT%H:%M:%S'): ${driver_cmd}" > "$1/.lock"
}
unlock_dir() { [ -z "${lock_fd}" ] || exec {lock_fd}>&-; lock_fd=""; }

all_sets="${train_set} ${valid_set} ${test_sets}"

if want 1; then
    _have_sets=true  # the marker counts only while its sets exist (recipes with several splits)
    for s in ${all_sets}; do [ -f "data/${s}/text" ] || _have_sets=false; done
    if is_done data/.done.stage1 && [ "${_have_sets}" = true ]; then
        log "stage 1: data preparation already done (data/.done.stage1; --force true to redo)"
    else
        log "stage 1: data preparation (local/data.sh ${local_data_opts})"
        mkdir -p data
        # shellcheck disable=SC2086
        local/data.sh ${local_data_opts} || fail 1 "the output above"
        for s in ${all_sets}; do utils/validate_data_dir.sh "data/${s}" || fail 1 "data/${s}"; done
        touch data/.done.stage1
    fi
fi

if want 2; then
    _todo=""
    for s in ${all_sets}; do is_done "${dumpdir}/raw/${s}/.done.stage2" || _todo="${_todo} data/${s}"; done
    if [ -n "${_todo}" ]; then
        # shellcheck disable=SC2086
        ${python} -m msrs.bin.dump_estimate --dumpdir "${dumpdir}/raw" --roi_opts "${roi_opts}" ${_todo} \
            || log "stage 2: no disk-space estimate (see above)"
    fi
    for s in ${all_sets}; do
        out=${dumpdir}/raw/${s}
        if is_done "${out}/.done.stage2"; then
            log "stage 2: ${out} already extracted"; continue
        fi
        log "stage 2: mouth ROIs and 16 kHz audio for data/${s} -> ${out} (${nj} jobs)"
        lock_dir "${out}"
        mkdir -p "${out}/log"
        rm -f "${dumpdir}/${s}/.done.stage3"  # the dump may change: refilter it
        _nj=$(min "${nj}" "$(wc -l < "data/${s}/text")")
        # Test utterances are never dropped for want of a face: centre crop, with a warning.
        case " ${test_sets} " in *" ${s} "*) _fallback=centre_crop ;; *) _fallback=none ;; esac
        # shellcheck disable=SC2086
        ${train_cmd} JOB=1:"${_nj}" "${out}/log/extract_roi.JOB.log" \
            ${python} -m msrs.bin.extract_roi --data "data/${s}" --out "${out}" \
                --job JOB --num_jobs "${_nj}" --no_face_fallback "${_fallback}" ${roi_opts} \
            || fail 2 "${out}/log/extract_roi.*.log"
        ${python} -m msrs.bin.extract_roi --data "data/${s}" --out "${out}" --merge \
            > "${out}/log/merge.log" 2>&1 || fail 2 "${out}/log/merge.log"
        _total=$(wc -l < "data/${s}/text"); _ok=$(wc -l < "${out}/text")
        if [ "${_ok}" -eq 0 ]; then
            log "stage 2 FAILED: every one of the ${_total} utterance(s) of ${s} failed; the first reasons (${out}/failures.txt):"
            head -n 5 "${out}/failures.txt" | sed 's/^/    /' >&2
            exit 1
        fi
        if [ -s "${out}/no_face_fallbacks.txt" ]; then
            log "stage 2: WARNING: $(wc -l < "${out}/no_face_fallbacks.txt") test utterance(s) of ${s} had no face; centre crops used (${out}/no_face_fallbacks.txt)"
        fi
        if [ -s "${out}/landmark_fallbacks.txt" ]; then
            log "stage 2: $(wc -l < "${out}/landmark_fallbacks.txt") recording(s) of ${s} had no landmark file; the face detector ran on them (${out}/landmark_fallbacks.txt)"
        fi
        if [ -s "${out}/failures.txt" ]; then
            log "stage 2: ${_ok} of ${_total} utterance(s) of ${s} extracted; $(wc -l < "${out}/failures.txt") failed" \
                "(reasons in ${out}/failures.txt, first: $(head -n 1 "${out}/failures.txt")); not marked done: a rerun retries only those"
        else
            touch "${out}/.done.stage2"
        fi
        unlock_dir
    done
fi

if want 3; then
    for s in ${all_sets}; do
        src=${dumpdir}/raw/${s}; dst=${dumpdir}/${s}
        if is_done "${dst}/.done.stage3"; then log "stage 3: ${dst} already filtered"; continue; fi
        log "stage 3: ${src} -> ${dst}"
        if [ "${s}" = "${train_set}" ] || [ "${s}" = "${valid_set}" ]; then
            ${python} -m msrs.bin.subset_data --src "${src}" --dst "${dst}" \
                --min_frames "${min_frames}" --max_frames "${max_frames}" --drop_empty_text true \
                || fail 3 "the output above"
        else
            ${python} -m msrs.bin.subset_data --src "${src}" --dst "${dst}" --drop_empty_text false \
                || fail 3 "the output above"
        fi
        log "stage 3: ${s}: $(wc -l < "${dst}/text") of $(wc -l < "data/${s}/text") utterances of data/${s} kept" \
            "($(wc -l < "${src}/failures.txt" 2>/dev/null || echo 0) failed extraction, $(( $(wc -l < "${src}/text") - $(wc -l < "${dst}/text") )) filtered)"
        [ "${s}" != "${train_set}" ] || rm -f "${train_dump}/.done.stage3"
        touch "${dst}/.done.stage3"
    done
    if [ -n "${train_subset}" ] && ! is_done "${train_dump}/.done.stage3"; then
        log "stage 3: training subset ${train_subset} -> ${train_dump}"
        ${python} -m msrs.bin.subset_data --src "${dumpdir}/${train_set}" --dst "${train_dump}" \
            $(echo "${train_subset}" | tr ',' '\n' | sed 's/^/--/; s/=/ /') || fail 3 "the output above"
        touch "${train_dump}/.done.stage3"
    fi
fi

if want 4; then
    if is_done "${tokendir}/.done.stage4"; then
        log "stage 4: token list ${token_list} exists"
    else
        # Always the full training text: the token list is shared by subset runs.
        log "stage 4: ${token_type} token list from ${dumpdir}/${train_set}/text -> ${tokendir}"
        ${python} -m msrs.bin.train_tokenizer --text "${dumpdir}/${train_set}/text" --out "${tokendir}" \
            --model_type "$([ "${token_type}" = char ] && echo char || echo "${bpemode}")" \
            --vocab_size "${nbpe}" || fail 4 "the output above"
        touch "${tokendir}/.done.stage4"
    fi
fi

if want 5 && [ "${use_lm}" = true ]; then
    if is_done "${lm_exp}/.done.stage5"; then
        log "stage 5: language model ${lm_exp} exists"
    else
        log "stage 5: language model on ${train_dump}/text -> ${lm_exp}"
        need "${token_list}" 4 "the token list"
        lock_dir "${lm_exp}"
        # Shape files for ESPnet's batch samplers: words per sentence (+1 for <sos/eos>).
        awk '{print $1, NF}' "${train_dump}/text" > "${lm_exp}/train_shape"
        awk '{print $1, NF}' "${dumpdir}/${valid_set}/text" > "${lm_exp}/valid_shape"
        # shellcheck disable=SC2086
        ${cuda_cmd} --gpu "${ngpu}" "${lm_exp}/train.log" \
            ${python} -m msrs.bin.lm_train --ngpu "${ngpu}" --resume true \
                --token_type "${token_type}" --token_list "${token_list}" --bpemodel "${bpemodel}" \
                --train_data_path_and_name_and_type "${train_dump}/text,text,text" \
                --valid_data_path_and_name_and_type "${dumpdir}/${valid_set}/text,text,text" \
                --train_shape_file "${lm_exp}/train_shape" --valid_shape_file "${lm_exp}/valid_shape" \
                --output_dir "${lm_exp}" ${lm_config:+--config "${lm_config}"} ${lm_args} \
            || fail 5 "${lm_exp}/train.log"
        touch "${lm_exp}/.done.stage5"
        unlock_dir
    fi
fi

if want 6; then
    if is_done "${stats_dir}/.done.stage6"; then
        log "stage 6: statistics ${stats_dir} exist"
    else
        log "stage 6: statistics for batching -> ${stats_dir}"
        need "${token_list}" 4 "the token list"
        need "${train_dump}/text" 3 "the filtered training data"
        lock_dir "${stats_dir}"
        mkdir -p "${stats_dir}/log"
        # shapes from the dumps' utt2num_frames, or ESPnet's collect-stats (reads every dump)
        if [ "${stats_from_frames}" = true ]; then
            _stats_tool="msrs.bin.avsr_shapes"
        else
            _stats_tool="msrs.bin.avsr_train --collect_stats true"
        fi
        # shellcheck disable=SC2046,SC2086
        ${train_cmd} "${stats_dir}/log/stats.log" \
            ${python} -m ${_stats_tool} --ngpu 0 \
                --modality "${modality}" \
                --token_type "${token_type}" --token_list "${token_list}" --bpemodel "${bpemodel}" \
                $(data_opts "${train_dump}" train_) $(data_opts "${dumpdir}/${valid_set}" valid_) \
                --train_data_path_and_name_and_type "${train_dump}/text,text,text" \
                --valid_data_path_and_name_and_type "${dumpdir}/${valid_set}/text,text,text" \
                --train_shape_file "${train_dump}/text" --valid_shape_file "${dumpdir}/${valid_set}/text" \
                --output_dir "${stats_dir}" ${train_config:+--config "${train_config}"} ${train_args} \
            || fail 6 "${stats_dir}/log/stats.log"
        # ESPnet's samplers read "<length>,<vocabulary size>" per utterance.
        _vocab=$(wc -l < "${token_list}")
        for s in train valid; do
            awk -v N="${_vocab}" '{ print $0 "," N }' "${stats_dir}/${s}/text_shape" \
                > "${stats_dir}/${s}/text_shape.${token_type}"
        done
        touch "${stats_dir}/.done.stage6"
        unlock_dir
    fi
fi

if want 7; then
    if is_done "${asr_exp}/.done.stage7"; then
        log "stage 7: ${asr_exp} already trained"
    else
        log "stage 7: training ${modality} model -> ${asr_exp} (log: ${asr_exp}/train.log)"
        need "${token_list}" 4 "the token list"
        need "${stats_dir}/train/text_shape.${token_type}" 6 "the shape files"
        lock_dir "${asr_exp}"
        # Keep the exact command so the run can be restarted by hand.
        echo "$0 $*  # stage 7 of ${modality} ${tag}" > "${asr_exp}/run.sh"
        # shellcheck disable=SC2046,SC2086
        OMP_NUM_THREADS=${train_threads} MKL_NUM_THREADS=${train_threads} ${python} -m espnet2.bin.launch \
            --cmd "${cuda_cmd} --name ${tag}" --log "${asr_exp}/train.log" \
            --ngpu "${ngpu}" --num_nodes "${num_nodes}" \
            --init_file_prefix "${asr_exp}/.dist_init_" --multiprocessing_distributed true -- \
            ${python} -m msrs.bin.avsr_train --use_preprocessor true --resume true \
                --modality "${modality}" \
                --token_type "${token_type}" --token_list "${token_list}" --bpemodel "${bpemodel}" \
                $(data_opts "${train_dump}" train_) $(data_opts "${dumpdir}/${valid_set}" valid_) \
                --train_data_path_and_name_and_type "${train_dump}/text,text,text" \
                --valid_data_path_and_name_and_type "${dumpdir}/${valid_set}/text,text,text" \
                $(shape_opts train train_) $(shape_opts valid valid_) \
                $(noise_opts) \
                --output_dir "${asr_exp}" ${train_config:+--config "${train_config}"} ${train_args} \
                > "${asr_exp}/launch.log" 2>&1 \
            || fail 7 "${asr_exp}/train.log"
        [ -e "${asr_exp}/${inference_model}" ] || fail 7 "${asr_exp}/train.log (no ${inference_model})"
        touch "${asr_exp}/.done.stage7"
        unlock_dir
    fi
fi

# Decoding conditions: "clean" and one per SNR in --test_snrs.
conditions=""
[ "${skip_decode_clean}" = true ] || conditions="clean"
for snr in ${test_snrs}; do conditions="${conditions} snr${snr}"; done
decode_dir() { echo "${asr_exp}/${inference_tag}_$1_$2"; }  # $1 test set, $2 condition

if want 8; then
    if [ "${gpu_inference}" = true ]; then _cmd=${cuda_cmd}; _ngpu=1; else _cmd=${decode_cmd}; _ngpu=0; fi
    lm_opts=""
    if [ "${use_lm}" = true ]; then
        lm_opts="--lm_train_config ${lm_exp}/config.yaml --lm_file ${lm_exp}/valid.loss.ave.pth"
    fi
    for s in ${test_sets}; do
        for cond in ${conditions}; do
            dir=$(decode_dir "${s}" "${cond}")
            if is_done "${dir}/.done.stage8"; then log "stage 8: ${dir} already decoded"; continue; fi
            snr_opts=""
            if [ "${cond}" != clean ]; then
                [ -n "${noise_file}" ] || { log "stage 8: --test_snrs needs --noise_file"; exit 2; }
                [ "${modality}" != vsr ] || { log "stage 8: skipping ${cond} for a vsr model (no audio)"; continue; }
                snr_opts="--snr ${cond#snr} --noise_file ${noise_file}"
            fi
            log "stage 8: decoding ${s} (${cond}) with ${asr_exp}/${inference_model} -> ${dir}"
            need "${asr_exp}/${inference_model}" 7 "the trained model"
            need "${asr_exp}/config.yaml" 7 "the training config"
            lock_dir "${dir}"
            mkdir -p "${dir}/log" "${dir}/keys"
            key_file=${dumpdir}/${s}/text
            _nj=$(min "${inference_nj}" "$(wc -l < "${key_file}")")
            split_outs=""
            for n in $(seq "${_nj}"); do split_outs="${split_outs} ${dir}/keys/keys.${n}.scp"; done
            # shellcheck disable=SC2086
            utils/split_scp.sh "${key_file}" ${split_outs}
            # shellcheck disable=SC2046,SC2086
            ${_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${dir}/log/decode.JOB.log" \
                ${python} -m msrs.bin.avsr_inference --ngpu "${_ngpu}" \
                    $(data_opts "${dumpdir}/${s}" "") --key_file "${dir}/keys/keys.JOB.scp" \
                    --asr_train_config "${asr_exp}/config.yaml" \
                    --asr_model_file "${asr_exp}/${inference_model}" \
                    --output_dir "${dir}/out.JOB" ${snr_opts} ${lm_opts} \
                    ${inference_config:+--config "${inference_config}"} ${inference_args} \
                || fail 8 "${dir}/log/decode.*.log"
            mkdir -p "${dir}/1best_recog"
            for f in text token score; do
                for n in $(seq "${_nj}"); do
                    [ -f "${dir}/out.${n}/1best_recog/${f}" ] && cat "${dir}/out.${n}/1best_recog/${f}"
                done | LC_ALL=C sort -k1,1 > "${dir}/1best_recog/${f}"
            done
            for n in $(seq "${_nj}"); do cat "${dir}/out.${n}/failed_utts.txt" 2>/dev/null || true; done \
                | LC_ALL=C sort -k1,1 > "${dir}/failed_utts.txt"
            _msg="stage 8: ${s} (${cond}): $(wc -l < "${dir}/1best_recog/text") hypotheses for the $(wc -l < "data/${s}/text") reference utterances of data/${s}"
            if [ -s "${dir}/failed_utts.txt" ]; then
                _msg="${_msg}; WARNING: $(wc -l < "${dir}/failed_utts.txt") failed at decode time (${dir}/failed_utts.txt, first: $(head -n 1 "${dir}/failed_utts.txt"))"
            fi
            log "${_msg}"
            touch "${dir}/.done.stage8"
            unlock_dir
        done
    done
fi

if want 9; then
    for s in ${test_sets}; do
        for cond in ${conditions}; do
            dir=$(decode_dir "${s}" "${cond}")
            [ -f "${dir}/1best_recog/text" ] || continue
            # The full reference (before any dump filtering): a missing hypothesis is all deletions.
            log "stage 9: scoring ${dir} against data/${s}/text"
            ${python} -m msrs.bin.score --ref "data/${s}/text" --utt2spk "data/${s}/utt2spk" \
                --hyp "${dir}/1best_recog/text" --out "${dir}/score" --name "${modality}_${tag}/${s}/${cond}" \
                > "${dir}/score.log" 2>&1 || fail 9 "${dir}/score.log"
            grep -ho "scored [0-9]* of [0-9]* reference utterances.*" "${dir}/score.log" | sed "s|^|${s} ${cond}: |" || true
            grep -h "Sum/Avg" "${dir}"/score/result*.txt | sed "s|^|${s} ${cond}: |" || true
        done
    done
fi

if want 10; then
    log "stage 10: report -> RESULTS.md, ${expdir}/plots/"
    ${python} -m msrs.bin.report --exp_dir "${expdir}" --out RESULTS.md --plots_dir "${expdir}/plots" \
        || fail 10 "the output above"
fi

if want 11; then
    log "stage 11: packing ${asr_exp} -> ${asr_exp}/model.tar.gz"
    need "${asr_exp}/${inference_model}" 7 "the trained model"
    lm_pack=""
    if [ "${use_lm}" = true ]; then
        lm_pack="--lm_config ${lm_exp}/config.yaml --lm_model ${lm_exp}/valid.loss.ave.pth"
    fi
    # The decoding config and the ROI options travel with the model (msrs.bin.transcribe).
    # shellcheck disable=SC2086
    ${python} -m msrs.bin.pack --config "${asr_exp}/config.yaml" \
        --model "${asr_exp}/${inference_model}" --out "${asr_exp}/model.tar.gz" ${lm_pack} \
        ${inference_config:+--inference_config "${inference_config}"} --roi_opts "${roi_opts}" \
        || fail 11 "the output above"
fi

log "finished stages ${stage}-${stop_stage} of ${modality}_${tag} in ${SECONDS}s"

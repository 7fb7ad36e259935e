#!/usr/bin/env bash
# The comparison study of issue 12: every method of conf/study/ trained from scratch with
# several seeds on one synthetic corpus preset, decoded on test (and test2 when the corpus
# has it), and one report with a verdict per claim of the MSRS paper (docs/results.md).
#
#   ./run_study.sh                                   # full study: --preset bench, seeds 0 1 2
#   ./run_study.sh --jobs 2                          # two single-thread trainings at a time
#   ./run_study.sh --ngpu 1 --gpu_inference true     # the same study on a GPU
#   ./run_study.sh --methods "dense msrs" --seeds "0"   # a part of it
#   ./run_study.sh --storage_check true              # also dense on H.264 (CRF 23) ROI dumps
#   ./run_study.sh --methods "" --quarter_methods "" --avsr_methods "dense msrs"   # AVSR runs only (claim f2)
#   ./run_study.sh --quick                           # CI: tiny preset, 1 seed, 3 methods + AVSR MSRS, 1 epoch
#
# Resumable: rerun the same command.  A finished run (stages 7-9 done, marker
# <run dir>/.done.study) is skipped; an interrupted training resumes from its last
# checkpoint (avsr.sh stage 7 runs ESPnet with --resume true); data stages are skipped
# once done (their .done markers).
#
# Everything is written under --workdir (default study/<preset>, ignored by git): the
# corpus, data/, dump/, exp/ and logs/ of this study, so the demo's data/exp are not
# touched and presets do not mix.  Runs: exp/vsr_study_<method>_s<seed> (curriculum:
# also exp/vsr_study_curriculum_s<seed>_short, its first stage), exp/quarter/... (a
# quarter of the training speakers), exp/storage/... (--storage_check),
# exp/avsr_study_<method>_s<seed> (--avsr_methods).
#
# Study stages (--stage/--stop_stage): 1 data (corpus, ROIs, tokens, statistics, subsets),
# 2 trainings and decodings, 3 report (msrs.bin.study_report).
#
# Stage 3 also keeps a record of every finished run (tens of kB: curves, per-utterance
# test errors, densities, gradient flow) in --records_dir (default <plots_dir>/runs,
# i.e. docs/results/runs/, committed), and reports the recorded runs that are not in
# the workdir too: a clean checkout rewrites docs/results.md with ./run_study.sh --stage 3,
# and new runs add to the recorded ones (a run in the workdir replaces its record).
set -euo pipefail

stage=1
stop_stage=3
preset=bench            # synthetic corpus preset (msrs.bin.synth_corpus --preset)
seeds="0 1 2"           # ESPnet --seed of each run
methods=""              # conf/study/<method>.yaml (default: conf/study/study.conf; "": none, e.g. AVSR runs only)
quarter_methods=""      # also trained on a quarter of the speakers (default: study.conf)
avsr_methods=""         # also trained as AVSR models, decoded clean and in babble (default: study.conf)
test_snrs=""            # babble SNRs (dB) the AVSR runs are decoded at besides clean (default: study.conf)
curriculum_subset=""    # stage 1 of the curriculum (default: study.conf)
inference_config=""     # decoding config (default: study.conf)
jobs=""                 # runs at the same time, one single-thread process each on CPU (default 1; --quick: 2)
ngpu=0                  # GPUs per training (avsr.sh --ngpu)
gpu_inference=false     # decode on a GPU
nj=2                    # parallel jobs of the data stages (and decoding when --jobs 1)
storage_check=false     # also dense on mp4 (H.264, CRF 23) ROI dumps (issue 14)
roi_crf=23              # x264 CRF of the storage check
quick=false             # CI: tiny preset, seed 0, dense msrs curriculum, 1 epoch
workdir=""              # default: study/<preset>
nbpe=120                # SentencePiece vocabulary (bpe units of this size are GRID words)
roi_opts="--detect_every 3 --crop_size 36 --crop_scale 0.375"  # as run.sh
train_args=""           # extra msrs.bin.avsr_train options for every run
inference_args=""       # extra msrs.bin.avsr_inference options
report_out=""           # default: <repository>/docs/results.md (--quick: <workdir>/results.md)
plots_dir=""            # default: <repository>/docs/results/ (--quick: <workdir>/plots/)
report_args=""          # extra msrs.bin.study_report options (e.g. "--target_acc 0.6")
records_dir=""          # run records the report reads and writes (default: <plots_dir>/runs)

help_message="Usage: ./run_study.sh [--quick] [--preset bench] [--seeds '0 1 2'] [--methods 'dense msrs ...'] [--jobs 2] [--ngpu N] [--storage_check true]"

cd "$(dirname "$(readlink -f "$0")")"
cmdline="./run_study.sh $*"
# shellcheck disable=SC1091
. conf/study/study.conf
_methods_conf=${methods}; _quarter_conf=${quarter_methods}; _avsr_conf=${avsr_methods}
methods="-"; quarter_methods="-"; avsr_methods="-"
# "--quick" alone (no value) is accepted as --quick true.
_args=()
for a in "$@"; do
    if [ "${a}" = --quick ]; then _args+=(--quick true); else _args+=("${a}"); fi
done
set -- ${_args[@]+"${_args[@]}"}
. ./path.sh
. utils/parse_options.sh
export MSRS_DRIVER_PID="${MSRS_DRIVER_PID:+${MSRS_DRIVER_PID} }$$"

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (run_study.sh) $*" >&2; }
# Curriculum methods (curriculum, curriculum_<regime>) train in two stages: first
# conf/study/<method>_short.yaml on the curriculum_subset, then conf/study/<method>.yaml.
is_curriculum() { case "$1" in curriculum|curriculum_*) return 0 ;; *) return 1 ;; esac; }
recipe=$(pwd)

if [ "${quick}" = true ]; then
    # Every code path (data, subsets, curriculum's two stages, sparse training, a quarter
    # run, decoding of every test set, report) in about a minute of training.
    preset=tiny; seeds="0"; nbpe=40
    [ "${methods}" != "-" ] || methods="dense msrs curriculum"
    [ "${quarter_methods}" != "-" ] || quarter_methods="dense"
    [ "${avsr_methods}" != "-" ] || avsr_methods="msrs"
    train_args="--max_epoch 1 --keep_nbest_models 1 --grad_flow_interval 1 ${train_args}"
    [ -n "${jobs}" ] || jobs=2
    [ -n "${workdir}" ] || workdir=study/quick
    [ -n "${report_out}" ] || report_out=${workdir}/results.md
    [ -n "${plots_dir}" ] || plots_dir=${workdir}/plots
fi
[ -n "${jobs}" ] || jobs=1
[ "${methods}" != "-" ] || methods=${_methods_conf}
[ "${quarter_methods}" != "-" ] || quarter_methods=${_quarter_conf}
[ "${avsr_methods}" != "-" ] || avsr_methods=${_avsr_conf}
[ -n "${workdir}" ] || workdir=study/${preset}
[ -n "${report_out}" ] || report_out=${MAIN_ROOT}/docs/results.md
[ -n "${plots_dir}" ] || plots_dir=${MAIN_ROOT}/docs/results
case "${report_out}" in /*) ;; *) report_out=${recipe}/${report_out} ;; esac
case "${plots_dir}" in /*) ;; *) plots_dir=${recipe}/${plots_dir} ;; esac
[ -n "${records_dir}" ] || records_dir=${plots_dir}/runs
case "${records_dir}" in /*) ;; *) records_dir=${recipe}/${records_dir} ;; esac

for m in ${methods}; do
    case "${m}" in avsr_*) log "ERROR: --methods ${m}: AVSR runs are named in --avsr_methods (e.g. --avsr_methods '${m#avsr_}')"; exit 2 ;; esac
    [ -f "conf/study/${m}.yaml" ] || { log "ERROR: --methods: no conf/study/${m}.yaml"; exit 2; }
    if is_curriculum "${m}"; then
        [ -f "conf/study/${m}_short.yaml" ] || { log "ERROR: --methods ${m}: no conf/study/${m}_short.yaml (its first stage)"; exit 2; }
    fi
done
for m in ${quarter_methods}; do
    ! is_curriculum "${m}" || { log "ERROR: quarter_methods: ${m} (a curriculum) on a quarter is not supported"; exit 2; }
    [ -f "conf/study/${m}.yaml" ] || { log "ERROR: quarter_methods: no conf/study/${m}.yaml"; exit 2; }
done
for m in ${avsr_methods}; do
    [ -f "conf/study/avsr_${m}.yaml" ] || { log "ERROR: avsr_methods: no conf/study/avsr_${m}.yaml"; exit 2; }
done
curricula=""; for m in ${methods}; do ! is_curriculum "${m}" || curricula="${curricula:+${curricula} }${m}"; done
if ! grep -q "\"${preset}\"" "${MAIN_ROOT}/msrs/bin/synth_corpus.py"; then
    log "ERROR: --preset ${preset}: msrs.bin.synth_corpus has no such preset"; exit 2
fi

# The study's own recipe directory: links to this recipe's pieces, its own data/dump/exp.
mkdir -p "${workdir}/logs"
workdir=$(cd "${workdir}" && pwd)
[ -f "${workdir}/.gitignore" ] || echo '*' > "${workdir}/.gitignore"
for f in avsr.sh path.sh cmd.sh db.sh utils local conf; do ln -sfn "${recipe}/${f}" "${workdir}/${f}"; done

# test2 (a second test set from another generator seed) when local/data.sh can make it.
local_data_opts="--preset ${preset} --nj ${nj}"
if grep -q '^test2=' local/data.sh; then local_data_opts="${local_data_opts} --test2 true"; fi
inference_nj=${nj}; [ "${jobs}" -le 1 ] || inference_nj=1
common=(
    --modality vsr --ngpu "${ngpu}" --nj "${nj}" --inference_nj "${inference_nj}"
    --train_threads 1 --gpu_inference "${gpu_inference}"
    --local_data_opts "${local_data_opts}" --roi_opts "${roi_opts}"
    --min_frames 10 --max_frames 400
    --token_type bpe --bpemode bpe --nbpe "${nbpe}"
    --inference_config "${inference_config}" --inference_args "${inference_args}"
)
drv() { (cd "${workdir}" && ./avsr.sh "${common[@]}" "$@"); }
test_sets() { if [ -f "${workdir}/data/test2/text" ]; then echo "test test2"; else echo test; fi; }
mp4_opts=(--dumpdir dump_mp4 --expdir exp/storage --roi_opts "${roi_opts} --roi_format mp4 --roi_crf ${roi_crf}")
quarter_opts=(--train_set train_quarter --expdir exp/quarter)
# AVSR runs: babble from the corpus (training augmentation and the noisy test conditions).
avsr_opts=(--modality avsr --noise_file downloads/synth_lrs3/noise/babble.wav --test_snrs "${test_snrs}")

# A quarter of the training speakers (every 4th in sorted order, at least one), as a
# stage-2 dump the driver then filters (stage 3) and counts (stage 6) like the full set.
make_quarter() {
    local src=${workdir}/dump/raw/train dst=${workdir}/dump/raw/train_quarter spk
    [ -f "${dst}/.done.stage2" ] && return 0
    spk=$(cut -d' ' -f2 "${src}/utt2spk" | LC_ALL=C sort -u | awk 'NR % 4 == 1' | paste -sd'|' -)
    python3 -m msrs.bin.subset_data --src "${src}" --dst "${dst}" --utt_regex "^(${spk})_" \
        --drop_empty_text false
    # the data dir too: the driver counts the kept utterances against it
    python3 -m msrs.bin.subset_data --src "${workdir}/data/train" --dst "${workdir}/data/train_quarter" \
        --utt_regex "^(${spk})_" --drop_empty_text false
    log "quarter: $(tr '|' '\n' <<< "${spk}" | wc -l) of $(cut -d' ' -f2 "${src}/utt2spk" | sort -u | wc -l) training speakers -> ${dst}"
    touch "${dst}/.done.stage2"
}

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "stage 1: data of the ${preset} preset in ${workdir}"
    drv --stage 1 --stop_stage 1 --test_sets test --train_config conf/study/dense.yaml
    ts=$(test_sets)
    [ "${ts}" != test ] || log "stage 1: no data/test2 (local/data.sh has no --test2 yet): test only"
    drv --stage 2 --stop_stage 6 --test_sets "${ts}" --train_config conf/study/dense.yaml
    if [ -n "${curricula}" ]; then  # the short-utterance subset (statistics do not depend on the model)
        drv --stage 3 --stop_stage 6 --test_sets "${ts}" --train_subset "${curriculum_subset}" \
            --train_config "conf/study/${curricula%% *}_short.yaml"
    fi
    if [ -n "${avsr_methods}" ]; then  # the audio streams' statistics (stage 6 per modality)
        drv --stage 6 --stop_stage 6 --test_sets "${ts}" "${avsr_opts[@]}" \
            --train_config "conf/study/avsr_${avsr_methods%% *}.yaml"
    fi
    if [ -n "${quarter_methods}" ]; then
        make_quarter
        drv --stage 3 --stop_stage 6 --test_sets "${ts}" "${quarter_opts[@]}" --train_config conf/study/dense.yaml
    fi
    if [ "${storage_check}" = true ]; then
        drv --stage 2 --stop_stage 6 --test_sets "${ts}" "${mp4_opts[@]}" --train_config conf/study/dense.yaml
        python3 - "${workdir}" <<'EOF'
import json, sys
from pathlib import Path
w = Path(sys.argv[1])
size = {k: sum(f.stat().st_size for f in (w / d / "raw").rglob("*") if f.is_file() and f.suffix in (".npy", ".mp4"))
        for k, d in (("npy", "dump"), ("mp4", "dump_mp4"))}
(w / "exp" / "storage").mkdir(parents=True, exist_ok=True)
(w / "exp" / "storage" / "roi_bytes.json").write_text(json.dumps(size) + "\n")
print("ROI bytes:", size)
EOF
    fi
fi

# One run: train (two stages for the curriculum), decode and score every test set.
run_exp() {  # run_exp METHOD: the exp dir of its runs (relative to the workdir)
    case "$1" in *_quarter) echo exp/quarter ;; *_mp4) echo exp/storage ;; *) echo exp ;; esac
}
run_dir() {  # run_dir METHOD SEED: its run directory (relative to the workdir)
    case "$1" in
        avsr_*) echo "$(run_exp "$1")/avsr_study_${1#avsr_}_s$2" ;;
        *) echo "$(run_exp "$1")/vsr_study_$1_s$2" ;;
    esac
}
run_one() {  # run_one METHOD SEED
    local method=$1 seed=$2 base exp tag=study_$1_s$2 opts=() dir ts
    base=${method%_quarter}; base=${base%_mp4}
    exp=$(run_exp "${method}"); dir=${workdir}/$(run_dir "${method}" "${seed}")
    case "${method}" in
        *_quarter) opts=("${quarter_opts[@]}") ;;
        *_mp4) opts=("${mp4_opts[@]}") ;;
        avsr_*) opts=("${avsr_opts[@]}"); tag=study_${method#avsr_}_s${seed} ;;
    esac
    ts=$(test_sets)
    if is_curriculum "${base}"; then
        drv --stage 7 --stop_stage 7 "${opts[@]}" --train_subset "${curriculum_subset}" \
            --train_config "conf/study/${base}_short.yaml" --tag "${tag}_short" \
            --train_args "--seed ${seed} ${train_args}"
        drv --stage 7 --stop_stage 9 "${opts[@]}" --test_sets "${ts}" \
            --train_config "conf/study/${base}.yaml" --tag "${tag}" \
            --train_args "--seed ${seed} --init_param ${exp}/vsr_${tag}_short/valid.acc.ave.pth ${train_args}"
    else
        drv --stage 7 --stop_stage 9 "${opts[@]}" --test_sets "${ts}" \
            --train_config "conf/study/${base}.yaml" --tag "${tag}" --train_args "--seed ${seed} ${train_args}"
    fi
    touch "${dir}/.done.study"
}

failed=0
if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    runs=()
    for s in ${seeds}; do
        for m in ${methods}; do runs+=("${m} ${s}"); done
        for m in ${quarter_methods}; do runs+=("${m}_quarter ${s}"); done
        for m in ${avsr_methods}; do runs+=("avsr_${m} ${s}"); done
        [ "${storage_check}" != true ] || runs+=("dense_mp4 ${s}")
    done
    log "stage 2: ${#runs[@]} runs, ${jobs} at a time (logs: ${workdir}/logs/)"
    trap 'p=$(jobs -pr); [ -z "${p}" ] || kill ${p} 2>/dev/null; exit 130' INT TERM
    job() {  # job METHOD SEED: one run with its log; its exit code in <log>.rc
        local lf=${workdir}/logs/study_$1_s$2.log t0=${SECONDS} rc=0
        local done=${workdir}/$(run_dir "$1" "$2")/.done.study
        if [ -f "${done}" ]; then
            log "run $1 seed $2: finished earlier (${done}): skipped"; echo 0 > "${lf}.rc"; return 0
        fi
        log "run $1 seed $2 started (log: ${lf})"
        run_one "$1" "$2" > "${lf}" 2>&1 || rc=$?
        echo "${rc}" > "${lf}.rc"
        if [ "${rc}" -eq 0 ]; then
            log "run $1 seed $2: done in $(( SECONDS - t0 )) s"
        else
            log "run $1 seed $2 FAILED; last lines of ${lf}:"; tail -n 20 "${lf}" >&2
        fi
    }
    for r in "${runs[@]}"; do
        # shellcheck disable=SC2086
        set -- ${r}
        rm -f "${workdir}/logs/study_$1_s$2.log.rc"
        if [ "${jobs}" -le 1 ]; then
            job "$1" "$2"
        else
            while [ "$(jobs -pr | wc -l)" -ge "${jobs}" ]; do wait -n || true; done
            job "$1" "$2" &
        fi
    done
    wait
    for r in "${runs[@]}"; do
        # shellcheck disable=SC2086
        set -- ${r}
        [ "$(cat "${workdir}/logs/study_$1_s$2.log.rc" 2>/dev/null || echo 1)" = 0 ] || failed=1
    done
    [ "${failed}" -eq 0 ] || log "stage 2: some runs FAILED (above); the report covers the others"
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log "stage 3: report -> ${report_out}, ${plots_dir}/"
    # shellcheck disable=SC2086
    python3 -m msrs.bin.study_report --exp_dir "${workdir}/exp" --out "${report_out}" \
        --plots_dir "${plots_dir}" --records_dir "${records_dir}" --preset "${preset}" \
        --command "${cmdline}" ${report_args}
fi
log "finished in ${SECONDS} s"
exit "${failed}"

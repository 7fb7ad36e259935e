#!/usr/bin/env bash
# mini_lrs3: every msrs stage on an embedded synthetic corpus in LRS3 layout, on CPU.
#
#   ./run.sh                       # all stages (what `make demo` runs): the demo corpus, ROIs,
#                                  # tokens, VSR + AVSR with MSRS, clean and babble decoding of
#                                  # test and test2 (new speakers), scoring with a bootstrap
#                                  # confidence interval, report, packing
#   ./run.sh --preset bench        # the benchmark corpus (80 train speakers; egs/mini_lrs3/run_study.sh)
#   ./run.sh --stage 7             # from training on
#   ./run.sh --models vsr          # only the lip-reading model
#   ./run.sh --stage 7 --train_config_suffix dense     # the same models without MSRS
#   ./run.sh --stage 7 --models vsr --train_config_suffix rigl   # a sparse baseline
#                                  # (msrs_sparse, static, snip, gmp, set, rigl, cs: conf/)
#   ./run.sh --parallel_train false --train_threads 2   # train the models one after the other
#
# The models of --models are trained at the same time, one single-thread process each
# (these models of under 1 M parameters run no faster on two threads, so on 2 cores two trainings
# take the wall time of one); data stages before and decoding after run once per model.
# While they train, one line per finished epoch (loss, validation accuracy, time left) is
# printed (msrs.report.progress; --progress false: none).
#
# Test sets: data/test (the corpus' own test speakers) and, for the tiny, demo and bench
# presets, data/test2: new speakers drawn with another seed (local/data.sh --test2).  A WER
# that holds agrees on both within its confidence interval.
#
# Dense curriculum baseline (short utterances first, then all), two calls of the driver:
#   ./avsr.sh --ngpu 0 --nj 2 --token_type bpe --bpemode bpe --nbpe 120 --stage 3 --stop_stage 7 \
#       --modality vsr --train_subset max_duration=4 --train_config conf/train_vsr_dense.yaml --tag curriculum_4s
#   ./avsr.sh --ngpu 0 --nj 2 --token_type bpe --bpemode bpe --nbpe 120 --stage 7 --stop_stage 9 \
#       --modality vsr --train_config conf/train_vsr_dense.yaml --tag curriculum_all \
#       --train_args "--init_param exp/vsr_curriculum_4s/valid.acc.ave.pth"
#
# The corpus, sizes and configs are CPU-sized (36x36 mouth ROIs, 2-block conformers,
# 0.44 M (VSR) and 0.74 M (AVSR) parameters); egs/lrs3 is the real-corpus recipe with the paper-size configs.
# Results: exp/RESULTS.md and exp/plots/ (stage 10; not tracked); RESULTS.reference.md is
# a committed copy of one `make demo` run.
set -euo pipefail

stage=1                 # first stage (see egs/TEMPLATE/avsr.sh)
stop_stage=11           # last stage
models="vsr avsr"       # models to train, each with conf/train_<model>_msrs.yaml
train_config_suffix=msrs  # conf/train_<model>_<suffix>.yaml (msrs, dense, msrs_sparse, rigl, ...)
preset=demo             # synthetic corpus: tiny | demo | bench | mini | small (msrs/bin/synth_corpus.py)
test2=auto              # also generate and decode data/test2, new speakers (auto: tiny, demo, bench)
report_dir=exp          # stage 10 writes <report_dir>/RESULTS.md and <report_dir>/plots/
progress=true           # one console line per training epoch during stage 7
nj=2                    # parallel jobs (data, decoding)
train_threads=1         # CPU threads per training process
parallel_train=true     # train the models of --models at the same time (one process each)
test_snrs="-5"          # babble SNRs (dB) decoded besides clean, for models with audio (e.g. "0 -5")
bpemode=bpe             # SentencePiece model type: bpe units of this size are whole GRID words
nbpe=120                # SentencePiece vocabulary size
roi_opts="--detect_every 3 --crop_size 36 --crop_scale 0.375"  # msrs.bin.extract_roi options (36 px mouth crops)
train_args=""           # extra options for msrs.bin.avsr_train (e.g. "--max_epoch 2")
inference_args=""       # extra options for msrs.bin.avsr_inference

help_message="Usage: ./run.sh [--stage N] [--stop_stage M] [--models 'vsr avsr'] [--preset demo] [--test2 auto] [--train_args '--max_epoch 2']"

. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh
# Killing this script (even with kill -9) stops the jobs of every stage (utils/lib/msrs_guard.py).
export MSRS_DRIVER_PID="${MSRS_DRIVER_PID:+${MSRS_DRIVER_PID} }$$"

for m in ${models}; do
    case "${m}" in vsr|asr|avsr) ;; *) echo "run.sh: --models takes vsr, asr, avsr; got '${m}'" >&2; exit 2;; esac
done

if [ "${test2}" = auto ]; then
    case "${preset}" in tiny|demo|bench) test2=true ;; *) test2=false ;; esac
fi
case "${test2}" in true|false) ;; *) echo "run.sh: --test2 takes true, false or auto; got '${test2}'" >&2; exit 2;; esac
test_sets="test"
[ "${test2}" = false ] || test_sets="test test2"

# Dumps, token lists and models of one corpus must not meet the data of another: a recipe
# directory holds one corpus (local/data.sh records it in data/.synth_corpus).
if [ -f data/.done.stage1 ]; then
    _had=$(awk '{print $1}' data/.synth_corpus 2>/dev/null || echo "preset=mini")
    if [ "${_had}" != "preset=${preset}" ]; then
        echo "run.sh: this directory holds the data, dumps and models of ${_had#preset=} (data/.synth_corpus)," \
            "not of --preset ${preset}. Remove them first (rm -rf data dump exp ${SYNTH_LRS3} ${SYNTH_LRS3}_test2)" \
            "or run in a copy of the recipe." >&2
        exit 2
    fi
fi

common=(
    --ngpu 0 --nj "${nj}" --inference_nj "${nj}" --train_threads "${train_threads}"
    --local_data_opts "--preset ${preset} --nj ${nj} --test2 ${test2}"
    --test_sets "${test_sets}"
    --roi_opts "${roi_opts}"
    --min_frames 10 --max_frames 400
    --token_type bpe --bpemode "${bpemode}" --nbpe "${nbpe}"
    --noise_file "${SYNTH_LRS3}/noise/babble.wav"
    --inference_config conf/decode.yaml
    --train_args "${train_args}" --inference_args "${inference_args}"
)

# Stages 1-6 per model (data stages run once: later models find them done), stage 7 for
# all models at once (--parallel_train true: one process per model, train_threads each;
# these models of under 1 M parameters do not get faster with a second thread, so two
# single-thread trainings on two cores take the time of one), then stages 8-9 per model.
run_model() {  # run_model MODEL FIRST LAST
    ./avsr.sh "${common[@]}" --stage "$2" --stop_stage "$3" --modality "$1" \
        --train_config "conf/train_$1_${train_config_suffix}.yaml" --test_snrs "${test_snrs}"
}
if [ "${stage}" -le 6 ]; then
    for m in ${models}; do run_model "${m}" "${stage}" $(( stop_stage < 6 ? stop_stage : 6 )); done
fi
if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    monitor=""
    if [ "${progress}" = true ]; then  # one line per finished epoch and model, with the time left
        _runs=""
        for m in ${models}; do _runs="${_runs} exp/${m}_train_${m}_${train_config_suffix}"; done
        # shellcheck disable=SC2086
        python3 -m msrs.report.progress --parent_pid $$ ${_runs} & monitor=$!
    fi
    stop_monitor() { if [ -n "${monitor}" ]; then kill "${monitor}" 2>/dev/null || true; wait "${monitor}" 2>/dev/null || true; monitor=""; fi; }
    trap stop_monitor EXIT
    if [ "${parallel_train}" = true ]; then
        pids=()
        for m in ${models}; do run_model "${m}" 7 7 & pids+=($!); done
        failed=0
        for pid in "${pids[@]}"; do wait "${pid}" || failed=1; done
        [ "${failed}" -eq 0 ] || { echo "run.sh: training failed (see the log paths above)" >&2; exit 1; }
    else
        for m in ${models}; do run_model "${m}" 7 7; done
    fi
    stop_monitor
fi
first=$(( stage > 8 ? stage : 8 )); last=$(( stop_stage < 9 ? stop_stage : 9 ))
if [ "${first}" -le "${last}" ]; then
    for m in ${models}; do run_model "${m}" "${first}" "${last}"; done
fi

# Stage 10: one report over every model (under exp/: nothing tracked is rewritten);
# stage 11: an archive per model.
if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
    echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) stage 10: report -> ${report_dir}/RESULTS.md, ${report_dir}/plots/"
    python3 -m msrs.bin.report --exp_dir exp --out "${report_dir}/RESULTS.md" --plots_dir "${report_dir}/plots" \
        || { echo "run.sh: stage 10 (report) failed (see the output above)" >&2; exit 1; }
fi
if [ "${stage}" -le 11 ] && [ "${stop_stage}" -ge 11 ]; then
    for m in ${models}; do
        ./avsr.sh "${common[@]}" --stage 11 --stop_stage 11 --modality "${m}" \
            --train_config "conf/train_${m}_${train_config_suffix}.yaml"
    done
fi

if [ -f "${report_dir}/RESULTS.md" ] && [ "${stop_stage}" -ge 10 ]; then
    echo
    echo "=== WER (%) [95% confidence interval] of the models trained by this run (details: ${report_dir}/RESULTS.md) ==="
    awk '/^## Word error rate/{on=1; next} on && /^## /{exit} on && /^\|/' "${report_dir}/RESULTS.md"
    echo "Condition decode_test: the corpus' test speakers; decode_test2: new speakers from another seed."
    echo "[lo, hi]: bootstrap over the test utterances; a figure that holds on new speakers agrees on both."
    echo "Plots: $(cd "${report_dir}" && pwd)/plots/   Report: $(cd "${report_dir}" && pwd)/RESULTS.md"
fi

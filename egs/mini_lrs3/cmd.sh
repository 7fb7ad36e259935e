# shellcheck shell=bash
# cmd.sh -- selects how recipe stages run their jobs.  Copy to egs/<recipe>/cmd.sh;
# run.sh sources it.  Select the backend with the environment
# (`cmd_backend=slurm ./run.sh ...`) or by editing the default below.
#
#   train_cmd   CPU jobs: data preparation, statistics, tokenizer, scoring
#   cuda_cmd    GPU jobs: training (through `python -m espnet2.bin.launch --cmd "$cuda_cmd"`)
#   decode_cmd  decoding jobs (CPU or GPU, the stage driver passes --gpu N)
#
# All commands follow the run.pl convention: CMD [options] [JOB=1:N] LOG command...
# (see utils/README.md).  Options given here apply to every call, e.g. --mem 16G.

# Exported, so that utils/parse_options.sh does not offer a --cmd_backend option
# (it would be parsed after this file has already chosen the commands).
export cmd_backend=${cmd_backend:-local}

case ${cmd_backend} in
    local)
        # Jobs run on this machine, at most --max_jobs_run (default: #CPUs) at once.
        train_cmd="utils/run.pl"
        cuda_cmd="utils/run.pl"
        decode_cmd="utils/run.pl"
        ;;
    slurm)
        # Jobs go through sbatch; partitions and extra options are in conf/slurm.conf
        # (copy utils/slurm.conf.example).  Multi-node training needs slurm.pl.
        train_cmd="utils/slurm.pl --config conf/slurm.conf --mem 8G"
        cuda_cmd="utils/slurm.pl --config conf/slurm.conf --mem 64G --num_threads 8"
        decode_cmd="utils/slurm.pl --config conf/slurm.conf --mem 16G"
        ;;
    *)
        echo "cmd.sh: unknown cmd_backend='${cmd_backend}' (expected local or slurm)" >&2
        return 1 2>/dev/null || exit 1
        ;;
esac
export train_cmd cuda_cmd decode_cmd

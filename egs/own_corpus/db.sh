# shellcheck shell=bash
# Your corpus and the model to start from.  Edit here or set in the environment.

# A folder of videos (any depth), each with a sidecar transcript (talk01.mp4 + talk01.txt) ...
OWN_CORPUS=${OWN_CORPUS:-/path/to/my_videos}
# ... or a table path,transcript[,speaker] (CSV; TSV when the name ends in .tsv), paths
# relative to the table's folder.  Set: the table is used and OWN_CORPUS is not scanned.
OWN_TABLE=${OWN_TABLE:-}

# The packed model to fine-tune (stage 11 of any recipe writes exp/<model>/model.tar.gz,
# e.g. egs/grid or egs/lrs3).  Its architecture, ROI options and (by default) tokens are
# used.  Empty: train from scratch with --train_config.
INIT_ARCHIVE=${INIT_ARCHIVE:-}

# Babble noise wav for asr/avsr training augmentation and noisy tests (optional).
NOISE_FILE=${NOISE_FILE:-}

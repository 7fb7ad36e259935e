# shellcheck shell=bash
# Where the corpora live.  Edit the defaults here or set the variables in the
# environment (`LRS3=/data/LRS3 ./run.sh ...`).

# LRS3 root: the directory holding pretrain/ trainval/ test/ (<speaker>/<clip>.mp4 + .txt),
# as distributed by the VGG group (https://www.robots.ox.ac.uk/~vgg/data/lip_reading/lrs3.html).
LRS3=${LRS3:-/path/to/lrs3}

# Validation ids (optional).  AV-HuBERT's lrs3-valid.id: 1,200 lines "trainval/<spk>/<clip>"
# (facebookresearch/av_hubert avhubert/preparation/data/lrs3-valid.id; ESPnet keeps a
# copy in egs2/lrs3/avsr1/local/; not shipped here: the AV-HuBERT licence is non-commercial
# and not sublicensable).  Empty: the same rule, a deterministic uniform sample of 1,200
# trainval clips (local/data.sh --valid_mode clips); --valid_mode speakers for a
# speaker-disjoint set (see docs/data.md).
LRS3_VALID_LIST=${LRS3_VALID_LIST:-}

# Precomputed face landmarks (optional), e.g. Auto-AVSR's LRS3_landmarks.zip unpacked:
# <dir>/<split>/<speaker>/<clip>.pkl, 68 iBUG points per frame.  Empty: the MediaPipe
# face detector runs on every video (tools/models/mediapipe).  Recordings without a
# landmark file fall back to the detector and are listed in dump/raw/<set>/landmark_fallbacks.txt;
# when more than 5 % of a job's recordings have none, stage 2 stops before extracting
# (--roi_opts "... --max_missing_landmarks 0.2" to allow more).
LRS3_LANDMARKS=${LRS3_LANDMARKS:-}

# Babble noise wav for training augmentation (asr/avsr) and the noisy test conditions.
# Empty: no noise (clean training; run.sh then decodes clean only).
# Options:
#   - Auto-AVSR's babble_noise.wav (github.com/mpc001/auto_avsr; origin not documented),
#     NOISEX-92 babble or MUSAN babble-like mixtures (license terms: see their sites);
#   - a license-clean synthetic babble (six espeak-ng talkers, 16 kHz; our generator):
#       python3 -m msrs.bin.synth_corpus --babble downloads/babble.wav --babble_seconds 300
#     (writes only the noise file; note it is synthetic speech, not real babble).
NOISE_FILE=${NOISE_FILE:-}

# shellcheck shell=bash
# Where the corpora live.  Edit the defaults here or set the variables in the
# environment (`GRID=/data/GRID ./run.sh ...`).

# GRID root: the unpacked videos and alignments of the GRID audio-visual corpus
# (Cooke, Barker, Cunningham, Shao 2006; CC BY 4.0), downloaded once by hand
# (README.md, "Getting GRID"); nothing is downloaded at run time.  Accepted layouts:
#   $GRID/s1/bbaf2n.mpg ...            videos, one folder per speaker (s21 has none)
#   $GRID/alignments/s1/bbaf2n.align   word alignments (Zenodo's alignments.zip), or
#   $GRID/s1/align/bbaf2n.align        (the original site's per-speaker align tars)
GRID=${GRID:-/path/to/grid}

# Babble noise wav for asr/avsr training augmentation and the noisy test conditions.
# Empty: no noise (clean training; run.sh then decodes clean only).  See egs/lrs3/db.sh
# for sources; a synthetic one: python3 -m msrs.bin.synth_corpus --babble babble.wav
NOISE_FILE=${NOISE_FILE:-}

# shellcheck shell=bash
# Where the corpora live.  The mini recipe generates its own corpus here.
SYNTH_LRS3=${SYNTH_LRS3:-downloads/synth_lrs3}

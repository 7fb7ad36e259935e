"""Synthetic LRS3-layout corpus: espeak-ng speech, an animated face, babble noise.

- :mod:`.espeak`: libespeak-ng through ctypes, with word/phoneme timings;
- :mod:`.grammar`: GRID-like and template sentence grammars;
- :mod:`.visemes`: phonemes -> visemes -> per-frame mouth parameters;
- :mod:`.face`: the talking-face renderer (scikit-image's astronaut photo);
- :mod:`.corpus`: the corpus generator (``python -m msrs.bin.synth_corpus``);
- :mod:`.babble`: synthetic babble noise.
"""

"""Data: media I/O, LRS3 preparation, mouth-ROI extraction, synthetic corpus.

- :mod:`~msrs.data.video_io`: PyAV reading/writing (the only media I/O path);
- :mod:`~msrs.data.lrs3`: LRS3 transcripts (parse, normalise, segment);
- :mod:`~msrs.data.lrs3_prep`: stage 1, LRS3 -> Kaldi-style data directories;
- :mod:`~msrs.data.datadir`: data-directory files;
- :mod:`~msrs.data.face_detect`, :mod:`~msrs.data.landmarks`,
  :mod:`~msrs.data.align`, :mod:`~msrs.data.roi`: keypoints and mouth crops;
- :mod:`~msrs.data.extract`: stage 2, ROI + audio dumps (sharded, resumable);
- :mod:`~msrs.data.subset`: subsets by length, hours, ids;
- :mod:`~msrs.data.synth`: the synthetic LRS3-layout corpus and babble noise;
- :mod:`~msrs.data.augment`: online augmentation (training time).

See docs/data.md.
"""

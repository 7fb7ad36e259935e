"""Data: media I/O, LRS3 preparation, mouth-ROI extraction, synthetic corpus."""

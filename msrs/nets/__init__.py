"""Networks of the AVSR task: video/audio frontends, fusion, LayerScale, AV model.

Registered in ESPnet-style registries by :mod:`msrs.tasks.avsr`.
"""

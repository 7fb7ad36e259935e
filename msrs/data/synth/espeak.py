"""Speech synthesis with phoneme and word timings from libespeak-ng (ctypes).

espeak-ng (GPL-3.0-or-later) is loaded at run time, never vendored: from the
``espeakng-loader`` wheel (which bundles ``libespeak-ng.so`` and its data) or,
failing that, from a system installation (``apt-get install espeak-ng``).

The library is driven in synchronous mode with phoneme events enabled.  Its
synthesis callback receives 16-bit PCM at 22,050 Hz together with events whose
``sample`` field is the exact sample offset of each word and phoneme onset, so
the timings below are sample-accurate (only onsets are reported; each phoneme
ends where the next event begins).

espeak-ng keeps synthesis state (pitch and filter memories, random generator)
between calls, so a sequence of :meth:`Espeak.synthesize` calls is reproducible
only as a whole and only in a fresh process.  :mod:`msrs.data.synth.corpus`
therefore synthesises each speaker's utterances in order in a fresh worker.
"""

import ctypes
import ctypes.util
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_EV_LIST_TERMINATED, _EV_WORD, _EV_END, _EV_PHONEME = 0, 1, 5, 7


class EspeakError(RuntimeError):
    """libespeak-ng is missing or rejected a request."""


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class Synthesis:
    """Result of one synthesis call.

    Attributes:
        audio: ``float32 (S,)`` samples in ``[-1, 1]`` at ``sample_rate``.
        sample_rate: Hz (22,050 for espeak-ng).
        words: ``(word, start_s, end_s)`` per input word, in input order.
        phonemes: ``(name, start_s, end_s)`` espeak phoneme mnemonics without
            stress marks; pauses are named ``"_"``.
    """

    audio: np.ndarray
    sample_rate: int
    words: List[Tuple[str, float, float]] = field(default_factory=list)
    phonemes: List[Tuple[str, float, float]] = field(default_factory=list)


def _find_library() -> Tuple[str, Optional[str]]:
    """Return (shared library path, directory containing espeak-ng-data)."""
    try:
        import espeakng_loader

        lib = espeakng_loader.get_library_path()
        data = os.path.dirname(espeakng_loader.get_data_path())
        if os.path.isfile(lib):
            return lib, data
    except (ImportError, RuntimeError):
        pass
    lib = ctypes.util.find_library("espeak-ng")
    if lib is None:
        raise EspeakError(
            "libespeak-ng not found: install the 'espeakng-loader' wheel "
            "(pip install espeakng-loader) or the system package "
            "(apt-get install espeak-ng)"
        )
    return lib, None


class Espeak:
    """One libespeak-ng instance (the library is process-global).

    Args:
        seed: seed of espeak-ng's internal random generator, set at start-up.
    """

    _instance: Optional["Espeak"] = None

    def __init__(self, seed: int = 0):
        if Espeak._instance is not None:
            raise EspeakError(
                "only one Espeak instance per process is supported; "
                "use Espeak.instance()"
            )
        lib_path, data_dir = _find_library()
        try:
            self._lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise EspeakError(f"{lib_path}: cannot load libespeak-ng ({e})") from e
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            data_dir.encode() if data_dir else None,
            _INITIALIZE_PHONEME_EVENTS,
        )
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (data dir {data_dir})")
        self.sample_rate = int(rate)
        if hasattr(self._lib, "espeak_ng_SetRandSeed"):
            self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            self._lib.espeak_ng_SetRandSeed(int(seed))
        self._pcm: List[np.ndarray] = []
        self._events: List[Tuple[int, int, int, bytes]] = []
        self._cb = _CALLBACK(self._callback)  # keep a reference
        self._lib.espeak_SetSynthCallback(self._cb)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        Espeak._instance = self

    @classmethod
    def instance(cls, seed: int = 0) -> "Espeak":
        """The process-wide instance (created with ``seed`` on first use)."""
        return cls._instance if cls._instance is not None else cls(seed)

    def _callback(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self._pcm.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            e = events[i]
            if e.type in (_EV_WORD, _EV_PHONEME, _EV_END):
                name = bytes(e.id) if e.type == _EV_PHONEME else b""
                self._events.append((e.type, e.text_position, e.sample, name))
            i += 1
        return 0

    def synthesize(
        self,
        words: List[str],
        voice: str = "en-us",
        rate: int = 170,
        pitch: int = 50,
        pitch_range: int = 50,
    ) -> Synthesis:
        """Speak ``words`` and return audio with word and phoneme timings.

        Args:
            words: the words, spoken separated by single spaces (case is lowered
                before synthesis; the returned word strings are the inputs).
            voice: espeak-ng voice name, e.g. ``"en-us"``, ``"en+f3"``.
            rate: speaking rate in words per minute (80..450).
            pitch: base pitch 0..100.
            pitch_range: pitch range 0..100.
        """
        if not words:
            raise EspeakError("nothing to synthesise: empty word list")
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"espeak-ng rejected voice {voice!r}")
        for param, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        starts, pos = [], 1  # 1-based character positions of each word
        for w in words:
            starts.append(pos)
            pos += len(w) + 1
        text = " ".join(w.lower() for w in words).encode("utf-8")
        self._pcm, self._events = [], []
        err = self._lib.espeak_Synth(
            text, len(text) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        self._lib.espeak_Synchronize()
        if err != 0 or not self._pcm:
            raise EspeakError(f"espeak_Synth failed ({err}) for {' '.join(words)!r}")
        audio = np.concatenate(self._pcm).astype(np.float32) / 32768.0
        return self._timings(words, starts, audio)

    def _timings(
        self, words: List[str], starts: List[int], audio: np.ndarray
    ) -> Synthesis:
        sr = self.sample_rate
        total = len(audio)
        phon_on = []  # (sample, name, text_position)
        word_on = {}  # text position -> sample
        for etype, tpos, sample, name in self._events:
            if etype == _EV_PHONEME:
                clean = re.sub(r"^[',=%]+", "", name.rstrip(b"\0").decode("latin-1"))
                phon_on.append((sample, clean, tpos))
            elif etype == _EV_WORD:
                word_on.setdefault(tpos, sample)
        phon_on.sort(key=lambda x: x[0])
        phonemes = []
        for k, (s, name, _) in enumerate(phon_on):
            e = phon_on[k + 1][0] if k + 1 < len(phon_on) else total
            if e > s:
                phonemes.append(("_" if name.startswith("_") else name, s / sr, e / sr))
        # word onsets: own WORD event, else the earliest phoneme carrying a text
        # position inside the word, else (clitics merged by espeak) a share of
        # the merged span proportional to character counts (filled below).
        onsets: List[Optional[int]] = []
        for w, st in zip(words, starts):
            cand = [word_on[p] for p in range(st, st + len(w)) if p in word_on]
            cand += [s for s, _, p in phon_on if st <= p < st + len(w)]
            onsets.append(min(cand) if cand else None)
        last_sound = max((s for s, n, _ in phon_on if not n.startswith("_")), default=0)
        end_of_speech = next(
            (s for s, n, _ in phon_on if n.startswith("_") and s > last_sound), total
        )
        known = [i for i, o in enumerate(onsets) if o is not None]
        if not known:
            raise EspeakError(f"no word events for {' '.join(words)!r}")
        filled = list(onsets)
        for i in range(len(words)):
            if filled[i] is None:
                prev = max([k for k in known if k < i], default=None)
                nxt = min([k for k in known if k > i], default=None)
                a = filled[prev] if prev is not None else 0
                b = onsets[nxt] if nxt is not None else end_of_speech
                lo = prev if prev is not None else -1
                hi = nxt if nxt is not None else len(words)
                span = [
                    len(words[j]) for j in range(lo + 1 if prev is None else lo, hi)
                ]
                before = sum(span[: i - (lo + 1 if prev is None else lo)])
                guess = a + (b - a) * before / max(sum(span), 1)
                inside = [s for s, _, _ in phon_on if a < s < b]
                filled[i] = int(
                    min(inside, key=lambda s: abs(s - guess)) if inside else guess
                )
        pauses = [s for s, n, _ in phon_on if n.startswith("_")]
        out_words = []
        for i, w in enumerate(words):
            s = filled[i]
            e = filled[i + 1] if i + 1 < len(words) else end_of_speech
            e = min([e] + [p for p in pauses if p > s])
            out_words.append((w, s / sr, max(e, s + 1) / sr))
        return Synthesis(audio, sr, out_words, phonemes)

"""Frame-rate conversion to 25 fps (sample-and-hold) and window planning for long files."""

import numpy as np
import pytest

from msrs.data.frame_rate import resample_list, resample_stream, resampled_length
from msrs.data.stream_roi import frame_energy, plan_windows


@pytest.mark.parametrize("fps,n,expected", [(30, 90, 75), (29.97, 300, 251), (50, 10, 5), (20, 50, 63), (25, 75, 75)])
def test_resampling_keeps_the_duration(fps, n, expected):
    out = resample_list(list(range(n)), fps, 25)
    assert len(out) == expected == resampled_length(n, fps, 25)
    assert out == sorted(out) and out[0] == 0  # in order, starting at the first frame


def test_each_output_frame_is_the_source_frame_on_screen():
    # 30 -> 25 fps: output k at k/25 s shows source floor(k * 1.2); one frame in six is dropped
    assert resample_list(list(range(12)), 30, 25) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    # 20 -> 25 fps: every fourth source frame is shown twice
    assert resample_list(list(range(8)), 20, 25) == [0, 0, 1, 2, 3, 4, 4, 5, 6, 7]


def test_stream_is_lazy():
    def frames():
        yield from range(3)
        raise AssertionError("read past what was asked")

    it = resample_stream(frames(), 30, 25)
    assert [next(it), next(it), next(it)] == [0, 1, 2]


def test_windows_cut_at_the_quietest_frame_before_the_limit():
    audio = np.full(100 * 640, 0.5, np.float32)
    audio[37 * 640 : 38 * 640] = 0.0  # a pause at frame 37
    windows = plan_windows(100, window=40, search=10, energy=frame_energy(audio, 100))
    assert windows[0] == (0, 37)
    assert windows[-1][1] == 100 and all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    assert all(e - s <= 40 for s, e in windows)
    assert plan_windows(100, window=40) == [(0, 40), (40, 80), (80, 100)]  # no audio: fixed
    assert plan_windows(30, window=40) == [(0, 30)]

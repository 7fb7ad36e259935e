import matplotlib.image as mpimg
import numpy as np
import pytest

from msrs.report.experiments import scan_exp
from msrs.report.plots import (
    SkipPlot,
    plot_curves,
    plot_grad_flow,
    plot_mask_density,
    plot_wer_vs_snr,
)


def assert_nontrivial_png(path, min_w=400, min_h=250):
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h
    rgb = img[..., :3].reshape(-1, 3)
    # not blank: many distinct colours and a good share of non-white pixels
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 50
    assert (rgb.min(axis=1) < 0.9).mean() > 0.02
    return (rgb * 255).round().astype(int)


def has_color(pixels, rgb, min_pixels=200):
    return (np.abs(pixels - np.array(rgb)).max(axis=1) <= 8).sum() >= min_pixels


def test_all_plots_from_fake_exp(fake_exp, tmp_path):
    runs, _ = scan_exp(fake_exp)
    msrs = runs[1]
    px = assert_nontrivial_png(plot_curves(msrs.stats, tmp_path / "c.png", title="m"))
    assert has_color(px, (31, 119, 180)) and has_color(
        px, (255, 127, 14)
    )  # train, valid
    assert_nontrivial_png(
        plot_mask_density(msrs.sparsity, msrs.events, tmp_path / "d.png"), min_h=400
    )
    assert_nontrivial_png(plot_grad_flow(msrs.grad_flow, tmp_path / "g.png"))
    series = {
        "m": {None: 10.0, 10.0: 20.0, 0.0: 45.0, -5.0: 70.0},
        "n": {10.0: 30.0, 0.0: 60.0},
        "clean only": {None: 5.0},
    }
    px = assert_nontrivial_png(plot_wer_vs_snr(series, tmp_path / "w.png"))
    assert has_color(px, (31, 119, 180)) and has_color(px, (255, 127, 14))


def test_density_heat_map_holds_the_per_layer_values(fake_exp, tmp_path):
    runs, _ = scan_exp(fake_exp)
    msrs = runs[1]
    # A layer that is dense throughout, and one fully pruned after epoch 1, must
    # show up as bright and dark cells: compare the two rows' mean colours.
    recs = [
        dict(r, layers={"a.weight": 1.0, "b.weight": 0.0 if r["epoch"] > 1 else 1.0})
        for r in msrs.sparsity
    ]
    p = plot_mask_density(recs, {}, tmp_path / "two.png")
    img = mpimg.imread(p)[..., :3]
    assert img.std() > 0.1


def test_missing_inputs_raise_skip(tmp_path):
    with pytest.raises(SkipPlot, match="loss"):
        plot_curves({1: {"train": {"time": 3.0}}}, tmp_path / "c.png")
    with pytest.raises(SkipPlot, match="sparsity.jsonl"):
        plot_mask_density([{"epoch": 1}], {}, tmp_path / "d.png")
    with pytest.raises(SkipPlot, match="grad_flow.jsonl"):
        plot_grad_flow([], tmp_path / "g.png")
    with pytest.raises(SkipPlot, match="SNR"):
        plot_wer_vs_snr({"m": {None: 3.0}}, tmp_path / "w.png")
    assert not list(tmp_path.glob("*.png"))

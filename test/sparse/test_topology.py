import torch

from msrs.sparse.topology import binarize_fraction, global_topk_masks, random_mask, topk_mask


def test_topk_and_global_topk_exact_counts():
    s = torch.randn(7, 9)
    m = topk_mask(s, 20)
    assert m.dtype == torch.uint8 and int(m.sum()) == 20
    assert s[m.bool()].min() >= s[~m.bool()].max()
    a, b = torch.randn(10), torch.randn(3, 4) + 10
    ma, mb = global_topk_masks([a, b], 12)
    assert int(mb.sum()) == 12 and int(ma.sum()) == 0


def test_random_mask_count_and_seed():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = random_mask((20, 5), 37, g1), random_mask((20, 5), 37, g2)
    assert int(a.sum()) == 37 and torch.equal(a, b)


def test_binarize_fraction_restores_identical_masks_and_mean_count():
    m = (torch.rand(50) > 0.7).to(torch.uint8)
    assert torch.equal(binarize_fraction(m.float()), m)
    other = (torch.rand(50) > 0.7).to(torch.uint8)
    avg = (m.float() + other.float()) / 2
    out = binarize_fraction(avg)
    assert int(out.sum()) == round(float(avg.sum()))
    assert bool((out.bool() | (avg < 1)).all()) and bool((~out.bool() | (avg > 0)).all())

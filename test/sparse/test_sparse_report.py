from msrs.sparse import MSRSSparsity, StaticSparsity
from msrs.sparse.report import format_table, global_density, sparsity_table
from msrs.sparse.squash import squash_state_dict
from sparse_toy import attached, make_optimizer, train


def test_table_of_fixed_masks_matches_the_model():
    model, sp = attached(StaticSparsity, density=0.25)
    rows = {r.name: r for r in sparsity_table(model.state_dict())}
    for t in sp.targets:
        r = rows[t.name]
        assert r.mode == "fixed" and r.shape == t.shape and r.numel == t.numel
        assert abs(r.density - sp.layer_densities()[t.name]) < 1e-9
        assert r.zeros == int((t.module.weight == 0).sum())
    assert rows["output_layer.weight"].mode == "plain"
    assert abs(global_density(list(rows.values())) - sp.global_density()) < 1e-9
    text = format_table(list(rows.values()))
    assert "enc.0.weight" in text and "global (masked layers): density" in text


def test_table_of_search_and_squashed_checkpoints():
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step"}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 2)
    rows = sparsity_table(model.state_dict())
    assert abs(global_density(rows) - sp.global_density()) < 1e-9  # hard decision phi > 0
    assert {r.mode for r in rows if r.name in sp.layer_densities()} == {"soft"}
    train(model, opt, sp, 4, start=2)
    plain_rows = {r.name: r for r in sparsity_table(squash_state_dict(model.state_dict()))}
    for t in sp.targets:
        assert plain_rows[t.name].mode == "plain"
        assert plain_rows[t.name].zeros >= int((t.parametrization.mask == 0).sum())

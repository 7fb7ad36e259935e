import pytest

from msrs.sparse.phases import parse_phases

ALL = ("dense", "search", "sparse", "prune", "evolve")


def test_defaults_and_nested_merge():
    ph = parse_phases(
        [{"name": "search", "end": 4, "temperature": {"end": 50.0}}, {"name": "dense"}], ALL
    )
    t = ph[0].options["temperature"]
    assert t == {"start": 1.0, "end": 50.0, "schedule": "exponential", "per": "epoch", "span": None}
    assert ph[0].options["freeze"]["patience"] == 2 and ph[0].unit == "epoch"
    assert ph[1].options == {"pruned_init": "zero"} and ph[1].end is None
    ph = parse_phases([{"name": "evolve", "end": 9}], ALL, defaults={"evolve": {"interval": 7}})
    assert ph[0].options["interval"] == 7 and ph[0].options["drop_fraction"] == 0.3


@pytest.mark.parametrize(
    "phases, match",
    [
        ([], "non-empty"),
        ([{"name": "warmup"}], "name must be one of"),
        ([{"name": "evolve"}], "does not support"),
        ([{"name": "search", "end": 3, "temprature": {}}], "unknown option"),
        ([{"name": "search", "end": 3, "temperature": {"stop": 5}}], "unknown temperature option"),
        ([{"name": "dense", "unit": "hour"}], "unit must be"),
        ([{"name": "dense", "end": 2.5}], "end must be"),
        ([{"name": "sparse"}, {"name": "dense"}], "only the last phase"),
        ([{"name": "dense", "end": 4}, {"name": "sparse", "start": 9}], "contiguous"),
        ([{"name": "dense", "end": 4}, {"name": "sparse", "end": 3}], "must be after"),
        ([{"name": "dense", "pruned_init": "random"}], "pruned_init"),
        ([{"name": "search", "end": 2, "density": 1.5}], "density"),
        ([{"name": "search", "end": 2, "temperature": {"per": "hour"}}], "temperature.per"),
        ("search", "non-empty list"),
    ],
)
def test_errors_name_the_phase_and_option(phases, match):
    allowed = ("dense", "search", "sparse")
    with pytest.raises(ValueError, match=match):
        parse_phases(phases, allowed, method="msrs")


def test_prune_needs_end_and_search_without_end_needs_freeze():
    with pytest.raises(ValueError, match="prune phase needs an end"):
        parse_phases([{"name": "prune"}], ALL)
    parse_phases([{"name": "search", "temperature": {"span": 5}}, {"name": "dense"}], ALL)
    with pytest.raises(ValueError, match="only the last phase"):
        parse_phases([{"name": "search", "freeze": None}, {"name": "dense"}], ALL)


def test_start_is_checked_against_previous_end():
    ph = parse_phases([{"name": "dense", "end": 4}, {"name": "sparse", "start": 5}], ALL)
    assert [p.kind for p in ph] == ["dense", "sparse"]
    ph = parse_phases([{"name": "dense", "end": 40, "unit": "step"}, {"name": "sparse", "start": 40, "unit": "step"}], ALL)
    assert ph[1].unit == "step"

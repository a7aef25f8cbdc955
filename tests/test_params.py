"""Schemas of the parameter files: runner params, scorecards, stage configurations."""

import copy
import math
import warnings

import pytest
import yaml

import salesanalytics as sa
from salesanalytics import _paths
from salesanalytics.params import (
    ParamsError,
    parse_iso_date,
    validate_run_params,
    validate_scorecard,
    validate_stage_config,
)
from salesanalytics.runner import load_params


def _yaml(tmp_path, data, name="p.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "data,needles",
    [
        ({"parameters": {"lang": "fr"}}, ["parameters.lang", "'fr'", "allowed: en, zh"]),
        (
            {"notebook_parameters": {"00-data-overview": {"lang": "de"}}},
            ["notebook_parameters.00-data-overview.lang", "allowed: en, zh"],
        ),
        ({"parameters": [1, 2]}, ["parameters", "dictionary"]),
        ({"parameters": {"as_of": "01/06/2026"}}, ["parameters.as_of", "'01/06/2026'", "ISO"]),
        ({"parameters": {"as_of": "2026-02-30"}}, ["parameters.as_of", "not a calendar date"]),
        ({"parameters": {"period": "W"}}, ["parameters.period", "allowed: M, Q, Y"]),
        ({"notebooks": "some"}, ["notebooks"]),
        ({"colums": {}}, ["colums: unknown key", "allowed keys"]),
        ({"columns": {"opportunities": ["a"]}}, ["columns.opportunities"]),
    ],
)
def test_run_params_refused_naming_file_and_key(tmp_path, data, needles):
    p = _yaml(tmp_path, data)
    with pytest.raises(ParamsError) as err:
        load_params(p)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(p))
    for n in needles:
        assert n in msg, (n, msg)


def test_run_params_accepted_and_normalised(tmp_path):
    spec = load_params(
        _yaml(
            tmp_path,
            {
                "parameters": {"lang": "zh", "as_of": "2026-06-30"},
                "notebook_parameters": {"00-data-overview": None},
                "columns": {"opportunities": {"客户编号": "opportunity_id"}},
            },
        )
    )
    assert spec["notebooks"] == "all" and spec["notebook_parameters"] == {"00-data-overview": {}}
    assert spec["columns"] == {"opportunities": {"客户编号": "opportunity_id"}}
    for name in ("default", "weekly", "quarterly", "scoring"):
        load_params(_paths.PARAMS_DIR / f"{name}.yaml")


def test_columns_section_reaches_the_notebooks_that_declare_it():
    from salesanalytics.runner import plan_run

    cols = {"opportunities": {"客户编号": "opportunity_id"}}
    runs = plan_run(validate_run_params({"columns": cols}), ["00-data-overview", "06-forecast"])
    assert runs[0].parameters["columns"] == cols  # 00 declares `columns`


@pytest.mark.parametrize("value", ["01/06/2026", "2026/06/01", "June 1", "20260601", "", None, 3])
def test_only_iso_dates(value):
    with pytest.raises(ParamsError, match="as_of"):
        parse_iso_date(value, "as_of")
    assert parse_iso_date("2026-06-01", "as_of") == "2026-06-01"


CARD = {
    "name": "t",
    "dimensions": [
        {
            "name": "size",
            "column": "company_size",
            "weight": 60,
            "bands": [{"below": 50, "points": 20}, {"below": 250, "points": 50}, {"points": 100}],
        },
        {"name": "dm", "column": "dm", "weight": 40, "kind": "bool", "map": {"true": 100}},
    ],
    "tiers": [{"tier": "A", "min": 60}, {"tier": "B", "min": 0}],
}


def _card(change):
    c = copy.deepcopy(CARD)
    change(c)
    return c


@pytest.mark.parametrize(
    "change,needles",
    [
        (
            lambda c: c["dimensions"][0]["bands"].reverse(),
            ["dimensions[0].bands[0]", "only the last band may omit"],
        ),
        (
            lambda c: c["dimensions"][0]["bands"].__setitem__(1, {"below": 30, "points": 50}),
            ["dimensions[0].bands", "out of order", "30 after 50"],
        ),
        (
            lambda c: c["dimensions"][0]["bands"].__setitem__(1, {"below": 50, "points": 50}),
            ["dimensions[0].bands", "overlap"],
        ),
        (
            lambda c: c["dimensions"][0]["bands"].pop(),
            ["dimensions[0].bands", "from 250 up are not covered"],
        ),
        (lambda c: c["dimensions"][0].__setitem__("weight", math.nan), ["dimensions.0.weight"]),
        (
            lambda c: c["dimensions"][1].__setitem__("name", "size"),
            ["dimensions[1].name", "duplicate dimension 'size'"],
        ),
        (
            lambda c: c["dimensions"][0]["bands"][0].__setitem__("points", 120),
            ["dimensions.0.bands.0.points", "less than or equal to 100"],
        ),
        (lambda c: c["dimensions"][1]["map"].__setitem__("true", 150), ["dimensions[1].map.true"]),
        (lambda c: c.pop("tiers"), ["tiers", "Field required"]),
        (lambda c: c.__setitem__("tiers", []), ["tiers"]),
        (lambda c: c["tiers"].reverse(), ["tiers[1].min", "highest minimum down"]),
        (lambda c: c["dimensions"][0].__setitem__("weight", 50), ["weights sum to 90"]),
        (lambda c: c["dimensions"][0].__setitem__("wieght", 1), ["wieght: unknown key"]),
    ],
)
def test_scorecard_errors_are_clear(tmp_path, change, needles):
    bad = _card(change)
    with pytest.raises(ParamsError) as err:
        validate_scorecard(bad, "card.yaml")
    msg = str(err.value)
    assert msg.startswith("card.yaml: ") and "\n" not in msg
    for n in needles:
        assert n in msg, (n, msg)
    # the same through the public loader, naming the file
    p = tmp_path / "card.yaml"
    p.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="card.yaml"):
        sa.Scorecard.from_yaml(p)


def test_valid_scorecard_scores_as_before():
    card = sa.Scorecard.from_dict(CARD)
    import pandas as pd

    out = card.score(pd.DataFrame({"company_size": [10, 100, 5000], "dm": ["yes", "no", "yes"]}))
    # 0.6 * points + 0.4 * (100 if yes else default 0)
    assert out["score"].tolist() == [52.0, 30.0, 100.0]
    assert out["tier"].tolist() == ["B", "B", "A"]
    for preset in ("lead_sabc", "lead_value_potential", "customer_tiers", "xeducation_precontact"):
        sa.Scorecard.from_yaml(preset)


STAGES = {
    "name": "t",
    "open": [
        {"key": "a", "probability": 0.1},
        {"key": "b", "probability": 0.5},
        {"key": "c", "probability": 0.8},
    ],
    "won": {"key": "won"},
    "lost": {"key": "lost"},
}


def test_stage_probability_out_of_range_is_an_error(tmp_path):
    bad = copy.deepcopy(STAGES)
    bad["open"][1]["probability"] = 1.5
    p = _yaml(tmp_path, bad, "stages.yaml")
    with pytest.raises(ValueError) as err:
        sa.load_stages(p)
    assert "stages.yaml" in str(err.value) and "open.1.probability" in str(err.value)
    bad["open"][1]["probability"] = -0.1
    with pytest.raises(ParamsError, match="open.1.probability"):
        validate_stage_config(bad, "s.yaml")


def test_stage_probabilities_not_increasing_is_a_warning(tmp_path):
    odd = copy.deepcopy(STAGES)
    odd["open"][2]["probability"] = 0.3
    p = _yaml(tmp_path, odd, "stages.yaml")
    with pytest.warns(UserWarning, match=r"stages.yaml: open.probability: .*c 0.3 after b 0.5"):
        cfg = sa.load_stages(p)
    assert cfg.open_keys == ("a", "b", "c")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for preset in ("default", "salesforce", "hubspot", "pipedrive", "odoo", "maven"):
            sa.load_stages(preset)


def test_stage_config_duplicate_key_and_unknown_field(tmp_path):
    dup = copy.deepcopy(STAGES)
    dup["open"][2]["key"] = "a"
    with pytest.raises(ParamsError, match=r"duplicate stage key\(s\) \['a'\]"):
        validate_stage_config(dup, "s.yaml")
    typo = copy.deepcopy(STAGES)
    typo["open"][0]["probabilty"] = 0.2
    with pytest.raises(ParamsError, match="open.0.probabilty: unknown key"):
        validate_stage_config(typo, "s.yaml")


def test_columns_mapping_reaches_read_dataset():
    import pandas as pd

    df = pd.DataFrame(
        {"客户编号": ["C1"], "owner": ["Ana"], "created_at": ["2024-01-01"], "stage": ["won"]}
    )
    ds = sa.read_dataset(
        {"opportunities": df}, columns={"opportunities": {"客户编号": "opportunity_id"}}
    )
    assert ds.opportunities["opportunity_id"].tolist() == ["C1"]

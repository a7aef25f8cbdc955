import pandas as pd
import pytest

from salesanalytics.stages import StageConfig, available_presets, load_stages


def test_default_funnel_has_seven_stages_in_order():
    cfg = load_stages()
    assert cfg.open_keys == (
        "prospect",
        "contacted",
        "needs_confirmed",
        "proposal",
        "negotiation",
        "contract",
    )
    assert (cfg.won, cfg.lost) == ("won", "lost")
    assert cfg["proposal"].labels["zh"] == "方案展示"
    assert cfg.probabilities["contract"] == 0.9 and cfg.probabilities["won"] == 1.0


@pytest.mark.parametrize(
    "text,key",
    [
        ("需求确认", "needs_confirmed"),
        ("需求分析", "needs_confirmed"),
        ("需求调研", "needs_confirmed"),
        ("初步接洽", "contacted"),
        ("  Closed_Won ", "won"),
        ("CLOSED LOST", "lost"),
        ("商务谈判", "negotiation"),
        ("成交准备", "contract"),
        ("Needs Analysis", "needs_confirmed"),
    ],
)
def test_aliases_resolve(text, key):
    assert load_stages().resolve(text) == key


def test_unknown_and_missing_resolve_to_none():
    cfg = load_stages()
    assert cfg.resolve("maybe later") is None
    assert cfg.resolve(None) is None
    out = cfg.map(pd.Series(["谈判", "???", None]))
    assert out.tolist()[0] == "negotiation" and out.isna().tolist() == [False, True, True]


def test_presets_load_and_map_their_own_names():
    assert {"default", "salesforce", "hubspot", "pipedrive", "odoo", "maven"} <= set(
        available_presets()
    )
    assert load_stages("salesforce").resolve("Proposal/Price Quote") == "proposal_price_quote"
    assert load_stages("hubspot").resolve("closedwon") == "won"
    assert load_stages("maven").resolve("Engaging") == "engaging"


def test_conflicting_alias_is_an_error():
    spec = {
        "open": [{"key": "a", "aliases": ["x"]}, {"key": "b", "aliases": ["X "]}],
        "won": {"key": "won"},
        "lost": {"key": "lost"},
    }
    with pytest.raises(ValueError, match="names both"):
        StageConfig.from_dict(spec)


def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match="presets:"):
        load_stages("nope")


def test_yaml_round_trip_with_calibrated_probabilities(tmp_path):
    cfg = load_stages().with_probabilities({"proposal": 0.42}, {"as_of": "2026-06-30"})
    back = load_stages(cfg.to_yaml(tmp_path / "s.yaml"))
    assert back.probabilities["proposal"] == 0.42
    assert back.provenance == {"as_of": "2026-06-30"}
    assert back.keys == cfg.keys
    with pytest.raises(ValueError):
        cfg.with_probabilities({"won": 0.5})


def test_coarse_entry_is_validated_and_round_trips(tmp_path):
    cfg = load_stages("maven")
    assert cfg.coarse_entry == "engaging"
    assert load_stages(cfg.to_yaml(tmp_path / "m.yaml")).coarse_entry == "engaging"
    spec = cfg.to_dict() | {"coarse_entry": "won"}
    with pytest.raises(ValueError, match="coarse_entry"):
        StageConfig.from_dict(spec)

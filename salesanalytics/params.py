"""Schemas of the parameter files: runner params, scorecards, stage configurations.

Every file is checked by a pydantic model before it is used; a problem becomes one line
naming the file, the key and, where there is a closed set, the allowed values:
``params/x.yaml: parameters.lang: 'fr' is not allowed; allowed: en, zh``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ParamsError",
    "RunParams",
    "ScorecardSpec",
    "StageConfigSpec",
    "CHOICES",
    "DATE_PARAMETERS",
    "parse_iso_date",
    "validate_run_params",
    "validate_scorecard",
    "validate_stage_config",
    "read_yaml_mapping",
]


class ParamsError(ValueError):
    """A parameter file or value does not fit its schema (one line: file, key, reason)."""


#: Parameters with a closed set of values, wherever they appear.
CHOICES: dict[str, tuple[str, ...]] = {"lang": ("en", "zh"), "period": ("M", "Q", "Y")}
#: Parameters holding a date: ISO ``YYYY-MM-DD`` only ("" where the notebook allows none).
DATE_PARAMETERS = ("as_of", "split", "cohort_start", "export_as_of", "backtest_from")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(value: Any, key: str, where: str = "") -> str:
    """Check that ``value`` is an unambiguous ISO date ``YYYY-MM-DD`` and return it.

    Raises
    ------
    ParamsError
        Naming ``where`` and ``key``: ``01/06/2026`` could be January or June, so it is
        refused, not guessed.

    Examples
    --------
    >>> parse_iso_date("2026-06-30", "as_of")
    '2026-06-30'
    """
    import datetime as dt

    prefix = f"{where}: " if where else ""
    text = value.isoformat() if isinstance(value, dt.date) else value
    if not isinstance(text, str) or not _ISO.match(text.strip()):
        raise ParamsError(
            f"{prefix}{key}: {value!r} is not an ISO date; write YYYY-MM-DD (e.g. 2026-06-30)"
        )
    try:
        dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ParamsError(f"{prefix}{key}: {value!r} is not a calendar date") from None
    return text.strip()


def _one_line(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return f"{where}: " + "; ".join(parts)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file whose top level must be a mapping (one-line errors)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: file not found")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).replace("\n", " ")[:200]
        raise ParamsError(f"{path}: not valid YAML ({first})") from None
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ParamsError(f"{path}: expected a mapping of keys at the top level")
    return spec


# --------------------------------------------------------------------------- runner params


class RunParams(BaseModel):
    """A runner params file: which notebooks, shared and per-notebook parameters."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    notebooks: Literal["all"] | list[str] = "all"
    parameters: dict[str, Any] = Field(default_factory=dict)
    notebook_parameters: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)


def _check_values(values: Mapping[str, Any], where: str, prefix: str) -> None:
    for key, value in values.items():
        if not isinstance(value, str):
            continue  # wrong types are reported against the notebooks' declarations
        if key in CHOICES and value not in CHOICES[key]:
            raise ParamsError(
                f"{where}: {prefix}{key}: {value!r} is not allowed; "
                f"allowed: {', '.join(CHOICES[key])}"
            )
        if key in DATE_PARAMETERS and value not in ("", None):
            parse_iso_date(value, f"{prefix}{key}", where)


def validate_run_params(spec: Any, source: str | Path = "params") -> dict[str, Any]:
    """Validate a runner params mapping and return it normalised.

    Examples
    --------
    >>> validate_run_params({"parameters": {"lang": "zh"}})["notebooks"]
    'all'
    """
    where = str(source)
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ParamsError(f"{where}: expected a mapping of keys at the top level")
    spec = dict(spec)
    for key in ("parameters", "notebook_parameters", "columns"):
        if spec.get(key) is None:
            spec.pop(key, None)
    try:
        model = RunParams.model_validate(spec)
    except ValidationError as exc:
        allowed = "allowed keys: " + ", ".join(RunParams.model_fields)
        raise ParamsError(_one_line(exc, where) + f" ({allowed})") from None
    _check_values(model.parameters, where, "parameters.")
    for nb, values in model.notebook_parameters.items():
        _check_values(values or {}, where, f"notebook_parameters.{nb}.")
    out = model.model_dump()
    out["notebook_parameters"] = {k: v or {} for k, v in out["notebook_parameters"].items()}
    return out


# ------------------------------------------------------------------------------- scorecards


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    below: float | None = None
    points: float = Field(ge=0, le=100)


class _Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str | None = None
    column: str
    weight: float = Field(ge=0, le=100)
    kind: Literal["number", "category", "bool"] | None = None
    bands: list[_Band] = Field(default_factory=list)
    map: dict[str, float] | None = None
    default: float = Field(default=0.0, ge=0, le=100)


class _Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    tier: str
    min: float = Field(ge=0, le=100)


class ScorecardSpec(BaseModel):
    """A scorecard YAML: dimensions (bands or map, weight) and tiers, best first."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = "scorecard"
    description: str = ""
    provenance: dict[str, Any] = Field(default_factory=dict)
    dimensions: list[_Dimension] = Field(min_length=1)
    tiers: list[_Tier] = Field(min_length=1)


def validate_scorecard(spec: Any, source: str | Path = "scorecard") -> ScorecardSpec:
    """Check a scorecard mapping: bands in order, not overlapping, covering; weights finite
    and summing to 100; points within 0-100; dimensions and tiers unique; tiers present.

    Raises
    ------
    ParamsError
        One line naming the file and the key, e.g.
        ``lead.yaml: dimensions[0].bands: 'below' values out of order (250 after 1000)``.

    Examples
    --------
    >>> card = {"dimensions": [{"column": "x", "weight": 100, "bands": [{"points": 50}]}],
    ...         "tiers": [{"tier": "A", "min": 0}]}
    >>> validate_scorecard(card).dimensions[0].weight
    100.0
    """
    where = str(source)
    if not isinstance(spec, Mapping):
        raise ParamsError(f"{where}: expected a mapping with 'dimensions' and 'tiers'")
    try:
        model = ScorecardSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise ParamsError(_one_line(exc, where)) from None
    names: dict[str, int] = {}
    for i, d in enumerate(model.dimensions):
        key = f"dimensions[{i}]"
        name = d.name or d.column
        if name in names:
            raise ParamsError(
                f"{where}: {key}.name: duplicate dimension {name!r} (also dimensions[{names[name]}])"
            )
        names[name] = i
        for k, v in (d.map or {}).items():
            if not (math.isfinite(v) and 0 <= v <= 100):
                raise ParamsError(f"{where}: {key}.map.{k}: points {v} outside 0-100")
        kind = d.kind or ("number" if d.bands else "category")
        if kind == "number":
            if not d.bands:
                raise ParamsError(f"{where}: {key}.bands: a number dimension needs bands")
            belows = [b.below for b in d.bands]
            for j, b in enumerate(belows[:-1]):
                if b is None:
                    raise ParamsError(
                        f"{where}: {key}.bands[{j}]: only the last band may omit 'below' "
                        "(the bands after it would never be reached)"
                    )
            finite = [b for b in belows if b is not None]
            for j in range(1, len(finite)):
                if finite[j] < finite[j - 1]:
                    raise ParamsError(
                        f"{where}: {key}.bands: 'below' values out of order "
                        f"({finite[j]:g} after {finite[j - 1]:g}); list them increasing"
                    )
                if finite[j] == finite[j - 1]:
                    raise ParamsError(
                        f"{where}: {key}.bands: bands overlap ('below: {finite[j]:g}' twice)"
                    )
            if belows[-1] is not None:
                raise ParamsError(
                    f"{where}: {key}.bands: values from {belows[-1]:g} up are not covered; "
                    "end with a band without 'below'"
                )
        elif not d.map:
            raise ParamsError(f"{where}: {key}.map: a {kind} dimension needs a value map")
    total = sum(d.weight for d in model.dimensions)
    if abs(total - 100) > 0.5:
        raise ParamsError(f"{where}: dimensions.weight: weights sum to {total:g}, not 100")
    seen: set[str] = set()
    mins = []
    for i, t in enumerate(model.tiers):
        if t.tier in seen:
            raise ParamsError(f"{where}: tiers[{i}].tier: duplicate tier {t.tier!r}")
        seen.add(t.tier)
        mins.append(t.min)
    for i in range(1, len(mins)):
        if mins[i] >= mins[i - 1]:
            raise ParamsError(
                f"{where}: tiers[{i}].min: tiers go from the highest minimum down "
                f"({mins[i]:g} after {mins[i - 1]:g})"
            )
    return model


# -------------------------------------------------------------------------- stage configs


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    key: str
    labels: dict[str, str] = Field(default_factory=dict)
    aliases: list[str | int | float] = Field(default_factory=list)
    probability: float | None = Field(default=None, ge=0, le=1)


class StageConfigSpec(BaseModel):
    """A stage configuration YAML: open stages in funnel order, then won and lost."""

    model_config = ConfigDict(extra="forbid")
    name: str = "custom"
    description: str = ""
    provenance: dict[str, Any] = Field(default_factory=dict)
    coarse_entry: str | None = None
    open: list[_Stage] = Field(min_length=1)
    won: _Stage
    lost: _Stage


def validate_stage_config(spec: Any, source: str | Path = "stage config") -> StageConfigSpec:
    """Check a stage configuration: probabilities within [0, 1] (an error), increasing
    along the funnel (a warning otherwise), keys unique.

    Examples
    --------
    >>> spec = {"open": [{"key": "a", "probability": 0.2}, {"key": "b", "probability": 0.6}],
    ...         "won": {"key": "won"}, "lost": {"key": "lost"}}
    >>> [s.key for s in validate_stage_config(spec).open]
    ['a', 'b']
    """
    where = str(source)
    if not isinstance(spec, Mapping):
        raise ParamsError(f"{where}: expected a mapping with 'open', 'won' and 'lost'")
    try:
        model = StageConfigSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise ParamsError(_one_line(exc, where)) from None
    keys = [s.key for s in [*model.open, model.won, model.lost]]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ParamsError(f"{where}: open.key: duplicate stage key(s) {dup}")
    probs = [(s.key, s.probability) for s in model.open if s.probability is not None]
    for (k0, p0), (k1, p1) in zip(probs, probs[1:], strict=False):
        if p1 < p0:
            warnings.warn(
                f"{where}: open.probability: not increasing along the funnel "
                f"({k1} {p1:g} after {k0} {p0:g})",
                UserWarning,
                stacklevel=2,
            )
            break
    return model

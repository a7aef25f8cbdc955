"""No public callable swallows keywords: a misspelled keyword is a TypeError."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

import salesanalytics as sa


def _public_callables():
    """(name, callable) for every function, class and public method in ``sa.__all__``."""
    out = []
    for name in sa.__all__:
        obj = getattr(sa, name)
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            out.append((name, obj))
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member):
                    continue
                out.append((f"{name}.{attr}", getattr(obj, attr)))
        elif callable(obj):
            out.append((name, obj))
    return out


PUBLIC = _public_callables()


def _takes_keywords(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return any(
        p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("self", "cls")
        for p in sig.parameters.values()
    )


def test_enough_public_callables_are_checked():
    names = {n for n, _ in PUBLIC}
    assert len(PUBLIC) > 60
    assert {"stage_dwell", "find_bottlenecks", "pipeline_as_of", "StageProbabilityModel.fit"} <= (
        names
    )


@pytest.mark.parametrize("name,fn", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_no_public_callable_has_a_keyword_catch_all(name, fn):
    sig = inspect.signature(fn)
    catch_all = [p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
    assert not catch_all, f"{name}{sig} takes **{catch_all[0]}"


@pytest.mark.parametrize(
    "name,fn", [(n, f) for n, f in PUBLIC if _takes_keywords(f)], ids=lambda x: str(x)[:40]
)
def test_a_bogus_keyword_is_a_type_error(name, fn):
    args = (None,) if "." in name and not inspect.isclass(fn) else ()  # unbound method: self
    with pytest.raises(TypeError, match="bogus_keyword"):
        fn(*args, bogus_keyword=1)


def test_a_misspelled_keyword_on_real_data_is_a_type_error(sample_ds):
    with pytest.raises(TypeError, match="bye"):
        sa.stage_dwell(sample_ds, bye="channel")
    with pytest.raises(TypeError, match="transition"):
        sa.find_bottlenecks(sample_ds, transition=pd.DataFrame())
    with pytest.raises(TypeError, match="stage_histroy"):
        sa.pipeline_as_of(sample_ds, "2025-12-31", stage_histroy=None)
    with pytest.raises(TypeError, match="opportunites"):
        sa.StageProbabilityModel().fit(sample_ds, as_of="2025-12-31", opportunites=None)
    with pytest.raises(TypeError, match="stage"):
        sa.GlobalWinRate().fit(sample_ds, as_of="2025-12-31", stage="default")

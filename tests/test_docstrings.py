"""Every example in the package's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import salesanalytics


def _with_examples() -> list[str]:
    names = []
    for m in pkgutil.walk_packages(salesanalytics.__path__, "salesanalytics."):
        if m.name.endswith("__main__"):
            continue
        tests = doctest.DocTestFinder().find(importlib.import_module(m.name))
        if any(t.examples for t in tests):
            names.append(m.name)
    return sorted(names)


MODULES = _with_examples()


def test_the_public_entry_points_have_examples():
    for name in ("forecast", "performance", "calibration.model", "snapshot", "funnel.transitions"):
        assert f"salesanalytics.{name}" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} failed in {name}"

"""Lazy package imports (issue 15): cheap ``import salesanalytics``, every public name intact.

Each check runs in a fresh interpreter, since this test session has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "scipy", "sklearn", "matplotlib.pyplot", "pandera", "statsmodels")


def _fresh(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_import_loads_no_heavy_library():
    out = _fresh(
        "import json, sys, salesanalytics; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert out == []


def test_entry_points_load_only_what_they_need():
    out = _fresh(
        "import json, sys, salesanalytics as sa; sa.read_dataset; sa.stage_transitions; "
        "sa.funnel_summary; sa.plot_funnel; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert out == ["pandas"]  # scipy, sklearn, pyplot, pandera load when a function needs them


def test_every_public_name_resolves_and_dir_lists_them():
    out = _fresh(
        "import json, types, salesanalytics as sa\n"
        "before = set(dir(sa))\n"
        "objs = {n: getattr(sa, n) for n in sa.__all__}\n"
        "from salesanalytics import *  # noqa\n"
        "import salesanalytics.clean\n"
        "print(json.dumps({'n': len(sa.__all__), 'unique': len(set(sa.__all__)),\n"
        "  'missing_dir': sorted(set(sa.__all__) - before),\n"
        "  'modules': sorted(n for n, o in objs.items() if isinstance(o, types.ModuleType)),\n"
        "  'clean': type(sa.clean).__name__,\n"
        "  'sample': sa.sample.__name__, 'version': sa.__version__}))"
    )
    assert out["n"] == out["unique"] >= 64
    assert out["missing_dir"] == []
    assert out["modules"] == []  # every public name is a function, class or constant
    assert out["clean"] == "function"  # not the subpackage of the same name
    assert out["sample"] == "salesanalytics.sample"
    assert out["version"]


def test_clean_stays_the_function_whichever_import_comes_first():
    out = _fresh(
        "import json, salesanalytics.clean.core, salesanalytics as sa; "
        "from salesanalytics import clean; "
        "print(json.dumps([type(sa.clean).__name__, type(clean).__name__]))"
    )
    assert out == ["function", "function"]


def test_unknown_name_is_an_attribute_error():
    out = _fresh(
        "import json, salesanalytics as sa\n"
        "try:\n    sa.read_datset\nexcept AttributeError as e:\n    print(json.dumps(str(e)))"
    )
    assert out == "module 'salesanalytics' has no attribute 'read_datset'"

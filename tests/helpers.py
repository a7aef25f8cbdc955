"""Assertions shared by the cleaning tests."""

import numpy as np
import pandas as pd

from salesanalytics.clean.core import COUNTS


def assert_reconciled(res, df):
    """Nothing is lost: every input row is clean, rejected, a dropped duplicate or merged."""
    r = res.report
    assert r["rows_in"] == len(df)
    assert r["rows_in"] == sum(r[k] for k in COUNTS[1:])
    assert len(res.data) == r["clean"] and len(res.rejected) == r["rejected"]
    assert sorted(res.rejected["row"]) == sorted(set(res.rejected["row"]))


# Four deals by hand, shared by the forecast tests: D1, D2 won, D3 lost, D4 open.
HISTORY = pd.DataFrame(
    [
        ("D1", "prospect", "2024-01-01"),
        ("D1", "proposal", "2024-01-10"),
        ("D1", "won", "2024-02-15"),
        ("D2", "prospect", "2024-01-02"),
        ("D2", "won", "2024-05-01"),
        ("D3", "prospect", "2024-01-03"),
        ("D3", "lost", "2024-01-20"),
        ("D4", "prospect", "2024-01-04"),
    ],
    columns=["opportunity_id", "stage", "entered_at"],
)
OPPS = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D2", "D3", "D4"],
        "owner": ["a", "a", "b", "b"],
        "created_at": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        "stage": ["won", "won", "lost", "prospect"],
        "amount": [100.0, 200.0, 300.0, 400.0],
        "close_amount": [90.0, 250.0, np.nan, np.nan],
    }
)

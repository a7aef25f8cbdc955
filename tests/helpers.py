"""Assertions shared by the cleaning tests."""

from salesanalytics.clean.core import COUNTS


def assert_reconciled(res, df):
    """Nothing is lost: every input row is clean, rejected, a dropped duplicate or merged."""
    r = res.report
    assert r["rows_in"] == len(df)
    assert r["rows_in"] == sum(r[k] for k in COUNTS[1:])
    assert len(res.data) == r["clean"] and len(res.rejected) == r["rejected"]
    assert sorted(res.rejected["row"]) == sorted(set(res.rejected["row"]))

"""Property: random corruption of a valid table never raises and never loses a row."""

import pandas as pd
from helpers import assert_reconciled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesanalytics as sa

VALID = pd.DataFrame(
    {
        "opportunity_id": [f"O{i}" for i in range(8)],
        "owner": ["Ann", "Bo", "Cy", "Di", "Ann", "Bo", "Cy", "Di"],
        "created_at": [f"2024-0{m}-1{m}" for m in range(1, 9)],
        "stage": [
            "prospect",
            "contacted",
            "proposal",
            "won",
            "lost",
            "negotiation",
            "contract",
            "won",
        ],
        "amount": ["100", "2,000", "3k", "50万", "", "7", "8.5", "9"],
        "closed_at": ["", "", "", "2024-09-01", "2024-09-02", "", "", "2024-09-03"],
        "phone": ["13812345678"] * 8,
    }
)
JUNK = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "",
            "N/A",
            "Select",
            "=cmd()",
            "2024-13-45",
            "31/02/2024",
            "¥-5万",
            "1e400",
            "won",
            "需求分析",
            "  ",
            "\x00",
            "O1",
            "45292",
            "True",
            "50-",
            "-",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 6), JUNK), max_size=20),
    dup_rows=st.lists(st.integers(0, 7), max_size=3),
)
def test_corruption_never_raises_and_never_loses_a_row(cells, dup_rows):
    df = VALID.astype(object).copy()
    for r, c, v in cells:
        df.iat[r, c] = v
    df = pd.concat([df, df.iloc[dup_rows]], ignore_index=True)
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    assert res.data["opportunity_id"].is_unique
    assert res.data["status"].isin(["open", "won", "lost"]).all()


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3), JUNK), max_size=12))
def test_corrupted_leads_with_contacts(cells):
    df = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(8)],
            "created_at": ["2024-01-01"] * 8,
            "channel": ["web", "ref"] * 4,
            "phone": ["13800000000", "13900000000"] * 4,
        },
        dtype=object,
    )
    for r, c, v in cells:
        df.iat[r, c] = v
    res = sa.clean(df, "leads")
    assert_reconciled(res, df)

"""Personal data found by content and by header, masked in every output of cleaning."""

from pathlib import Path

import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.clean.pii import column_kind, mask_frame, mask_message, mask_name, mask_text

DATA = Path(__file__).parent / "data"
SECRETS = [
    "13912345678",
    "139-1234-5678",
    "62345678",
    "7946 0958",
    "13800001111",
    "13700002222",
    "xm.chen@example.com",
    "chen@example.org",
    "zl@example.net",
    "j.smith@example.co.uk",
    "陈小明",
    "赵丽",
    "John Smith",
    "Mary Lee",
    "钱进",
]


def _all_text(*frames: pd.DataFrame) -> str:
    return "\n".join(f.to_csv(index=False) for f in frames)


def test_phones_and_emails_found_inside_free_text():
    s = pd.Series(
        [
            "call 13912345678 tomorrow",
            "office 010-62345678, or +44 20 7946 0958",
            "write to ann.lee@example.com please",
            "order 20240301 for 1500000 yuan on 2024-03-01",
            None,
        ]
    )
    out = mask_text(s).tolist()
    assert out[0] == "call 139****5678 tomorrow"
    assert out[1] == "office 010****5678, or 442****0958"
    assert out[2] == "write to a***@example.com please"
    assert out[3] == "order 20240301 for 1500000 yuan on 2024-03-01"  # not phones
    assert out[4] is pd.NA


def test_region_is_configurable():
    # a US national number is not valid in CN but is in US
    assert mask_text(pd.Series(["ring (415) 555-2671"]), region="US")[0] == "ring 415****2671"


def test_headers_decide_contact_and_name_columns():
    assert column_kind("联系方式") == column_kind("聯系方式") == "contact"
    assert column_kind("Phone Number") == column_kind("Work Email") == "contact"
    assert column_kind("手机号") == "contact"
    assert column_kind("联系人") == column_kind("聯系人") == column_kind("Contact") == "name"
    assert column_kind("溝通對象") == "name"
    for rep in ("负责人", "跟进责任人", "Sales Rep", "owner", "企业名称"):
        assert column_kind(rep) is None


def test_names_are_masked_keeping_the_first_character_of_each_word():
    assert mask_name(pd.Series(["张三", "陈小明", "John Smith", "Li"])).tolist() == [
        "张*",
        "陈**",
        "J*** S****",
        "L*",
    ]


def test_mask_message_and_frame():
    assert mask_message("bad cell '13912345678' in row 3") == "bad cell '139****5678' in row 3"
    df = pd.DataFrame({"Phone Number": [13912345678], "x": ["ok"]})
    assert mask_frame(df)["Phone Number"].tolist() == ["139****5678"]


def test_leads_file_masked_in_data_rejected_and_quality():
    ds = sa.read_dataset({"leads": DATA / "leads_contacts.csv"})
    out = _all_text(ds.leads, ds.rejected["leads"], ds.quality)
    for secret in SECRETS:
        assert secret not in out, secret
    d = ds.leads.set_index("lead_id")
    assert d.loc["L1", "contact_name"] == "陈**" and d.loc["L4", "contact_name"] == "J*** S****"
    assert d.loc["L1", "phone"] == "139****5678"
    assert d.loc["L1", "Work Email"] == "x***@example.com"
    assert d.loc["L1", "notes"] == "call 139****5678 tomorrow"
    assert d.loc["L1", "owner"] == "王芳"  # reps are kept: reports are per rep
    rej = ds.rejected["leads"]
    assert rej["row"].tolist() == [4]
    assert rej.loc[0, "联系方式"] == "138****1111" and rej.loc[0, "联系人"] == "M*** L**"
    assert rej.loc[0, "备注"] == "bad date 138****1111"


def test_same_company_and_contact_merged_and_reported():
    ds = sa.read_dataset({"leads": DATA / "leads_contacts.csv"})
    d = ds.leads.set_index("lead_id")
    # L1 and L2: same company, same phone written two ways -> one lead, both channels
    assert "L2" not in d.index and d.loc["L1", "merged_lead_ids"] == "L2"
    assert d.loc["L1", "channels"] == "展会|官网"
    assert ds.reports["leads"]["merged"] == 1
    q = ds.quality[ds.quality["rule"] == "same_contact"]
    assert q["row"].tolist() == [1] and q["detail"].tolist() == ["merged into lead L1"]
    r = ds.reports["leads"]
    assert r["rows_in"] == r["clean"] + r["rejected"] + r["duplicates_dropped"] + r["merged"]


def test_same_phone_at_another_company_is_not_merged():
    raw = pd.read_csv(DATA / "leads_contacts.csv", dtype=str)
    raw.loc[1, "企业名称"] = "别的公司"
    res = sa.clean(raw, "leads")
    assert res.report["merged"] == 0


def test_headerless_file_error_masks_the_phone(tmp_path):
    p = tmp_path / "leads.csv"
    p.write_text("L1,2024-03-01,web,13912345678,ann@example.com\n", encoding="utf-8")
    with pytest.raises(sa.DataContractError) as err:
        sa.read_dataset({"leads": p})
    assert "13912345678" not in str(err.value) and "ann@example.com" not in str(err.value)
    assert "139****5678" in str(err.value)


def test_mask_pii_off_keeps_values():
    res = sa.clean(pd.read_csv(DATA / "leads_contacts.csv", dtype=str), "leads", mask_pii=False)
    assert "陈小明" in res.data["contact_name"].tolist()

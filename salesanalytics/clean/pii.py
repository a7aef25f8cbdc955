"""Personal data found by content and by header, and masked wherever cleaning writes.

Three kinds of personal data are masked:

- **Phone numbers** anywhere in a text cell (``"call 13912345678 tomorrow"`` ->
  ``"call 139****5678 tomorrow"``): Chinese mobiles and landlines, E.164 and the usual
  national formats, found with the ``phonenumbers`` library (default region ``CN``; see
  :func:`set_region`), plus a pattern for Chinese mobiles and ``0xx-xxxxxxx`` landlines.
- **E-mail addresses** anywhere in a text cell (``john.doe@example.com`` ->
  ``j***@example.com``).
- **Person names** in columns that hold a contact person (``联系人``/``聯系人``,
  ``Contact``, ``Contact Name``, ``First Name``, ``沟通对象`` ...): ``张三丰`` -> ``张**``,
  ``John Smith`` -> ``J*** S****``.

Columns whose header names a contact detail (``联系方式``/``聯系方式``, ``Phone Number``,
``Work Email``, ``手机号``, ``微信`` ...) are masked whole, like a phone (or like an e-mail
when the cell holds an ``@``), whatever they contain.

Rep names are **not** masked: the owner/rep column (``owner``, ``负责人``, ``跟进责任人``,
``销售负责人``, ``Sales Rep``...) is the key of every per-rep report. Only columns naming a
*contact person* of the customer are person-name columns.

:func:`mask_text` and :func:`mask_message` are what every writer of text (manifest, HTML,
logs, error messages) uses; :func:`mask_frame` applies the column rules to a whole table.
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers

__all__ = [
    "mask_text",
    "mask_message",
    "mask_name",
    "mask_contact",
    "mask_frame",
    "column_kind",
    "set_region",
    "get_region",
]

_REGION = {"value": "CN"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# cheap pre-filter: a cell can only hold a phone number if it has a run of 7+ digits,
# possibly broken by spaces, dashes, dots or brackets
_DIGIT_RUN = r"\d(?:[\s\-.()/]*\d){6,}"
_MAYBE = re.compile(rf"@|{_DIGIT_RUN}")
_MAYBE_RE2 = r"@|\d(?:[\s\-.()/]*\d){6,}"


def _arrow(s: pd.Series) -> bool:
    return getattr(s.dtype, "storage", None) == "pyarrow"


_CN_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}(?!\d)")
_CN_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[\s\-]\d{7,8}(?!\d)")

_CONTACT_WORDS = (
    "phone",
    "mobile",
    "tel",
    "telephone",
    "cell",
    "cellphone",
    "email",
    "e-mail",
    "mail",
    "fax",
    "wechat",
    "whatsapp",
    "contact details",
    "contact info",
)
_CONTACT_CJK = (
    "联系方式",
    "聯系方式",
    "聯繫方式",
    "联系电话",
    "聯系電話",
    "聯繫電話",
    "电话",
    "電話",
    "手机",
    "手機",
    "邮箱",
    "郵箱",
    "电子邮件",
    "電子郵件",
    "微信",
    "传真",
    "傳真",
)
_NAME_WORDS = (
    "contact",
    "contact name",
    "contact person",
    "first name",
    "last name",
    "full name",
    "person",
    "referrer",
    "decision maker",
)
_NAME_CJK = (
    "联系人",
    "聯系人",
    "聯繫人",
    "沟通对象",
    "溝通對象",
    "对接人",
    "對接人",
    "决策人",
    "決策人",
    "姓名",
    "推荐人",
    "推薦人",
)


def set_region(region: str) -> None:
    """Default region for numbers written without a country code (``"CN"`` unless set)."""
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    _REGION["value"] = region.upper()


def get_region() -> str:
    """The region used for numbers without a country code."""
    return _REGION["value"]


def _header(name: object) -> str:
    text = str(name).lstrip("\ufeff").casefold()
    text = re.sub(r"[(（].*?[)）]", " ", text)
    return re.sub(r"[\s_*]+", " ", text).strip()


def column_kind(name: object) -> str | None:
    """``"contact"`` (a phone/e-mail column), ``"name"`` (a contact person) or ``None``.

    >>> column_kind("联系方式"), column_kind("Work Email"), column_kind("聯系人")
    ('contact', 'contact', 'name')
    >>> column_kind("负责人") is None
    True
    """
    h = _header(name)
    words = set(re.split(r"[^a-z\-]+", h))
    if any(w in words for w in _CONTACT_WORDS if " " not in w) or any(
        w in h for w in _CONTACT_WORDS if " " in w
    ):
        return "contact"
    if any(c in h for c in _CONTACT_CJK) or h.endswith("号码") and "电话" in h:
        return "contact"
    if h in _NAME_WORDS or any(h.startswith(w + " ") for w in ("contact", "customer contact")):
        return "name"
    if h.endswith(" name") and h.split(" ")[0] in {"first", "last", "full", "contact"}:
        return "name"
    if any(c in h for c in _NAME_CJK):
        return "name"
    return None


def _mask_digits(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 8:
        return "****"
    return digits[:3] + "****" + digits[-4:]


def _mask_email_match(m: re.Match) -> str:
    return m.group(0)[0] + "***@" + m.group(0).split("@", 1)[1]


def _mask_one(text: str, region: str) -> str:
    if "@" in text:
        text = _EMAIL.sub(_mask_email_match, text)
    if not re.search(_DIGIT_RUN, text):
        return text
    spans = []
    for m in phonenumbers.PhoneNumberMatcher(text, region):
        spans.append((m.start, m.end))
    for pat in (_CN_MOBILE, _CN_LANDLINE):
        spans += [(m.start(), m.end()) for m in pat.finditer(text)]
    if not spans:
        return text
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out += [text[pos:a], _mask_digits(text[a:b])]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _by_unique(s: pd.Series, fn, candidates: pd.Series | None = None) -> pd.Series:
    """Apply ``fn`` to each distinct value (of the candidate cells only)."""
    text = s.astype("string")
    todo = text.notna() if candidates is None else candidates.fillna(False).astype(bool)
    if not todo.any():
        return text
    uniq = pd.unique(text[todo].to_numpy(dtype=object))
    lookup = {u: fn(u) for u in uniq}
    out = text.copy()
    out[todo] = text[todo].map(lookup)
    return out


def mask_text(s: pd.Series, *, region: str | None = None) -> pd.Series:
    """Mask phone numbers and e-mail addresses found anywhere in text cells.

    Other text is left as it is; missing cells stay missing. Works on the distinct values
    of cells that can hold a number or an address, so long columns cost little.

    Examples
    --------
    >>> mask_text(pd.Series(["call 13912345678 tomorrow", "mail ann.lee@example.com", None])
    ...           ).tolist()
    ['call 139****5678 tomorrow', 'mail a***@example.com', <NA>]
    """
    reg = region or get_region()
    text = s.astype("string")
    codes, uniq = pd.factorize(text, use_na_sentinel=True)
    if len(uniq) == 0:
        return text
    u = pd.Series(uniq, dtype="string")
    maybe = u.str.contains(_MAYBE_RE2 if _arrow(u) else _MAYBE, regex=True).fillna(False)
    if not maybe.any():
        return text
    fixed = u.copy()
    fixed[maybe] = [_mask_one(v, reg) for v in u[maybe]]
    out = pd.Series(fixed.to_numpy(dtype=object)[codes], index=s.index, dtype="string")
    return out.mask(codes < 0)


def mask_message(message: str, *, region: str | None = None) -> str:
    """A message (error, log line, manifest entry) with phones and e-mails masked.

    >>> mask_message("row 3: phone '+86 139-1234-5678' is not a date")
    "row 3: phone '861****5678' is not a date"
    """
    return _mask_one(str(message), region or get_region())


def _name_one(text: str) -> str:
    parts = re.split(r"(\s+)", text.strip())
    out = []
    for p in parts:
        if not p or p.isspace():
            out.append(p)
        else:
            out.append(p[0] + "*" * (len(p) - 1) if len(p) > 1 else p)
    joined = "".join(out)
    return joined if len(text.strip()) > 1 else "*"


def mask_name(s: pd.Series) -> pd.Series:
    """Person names: first character of each word kept, the rest starred.

    >>> mask_name(pd.Series(["张三丰", "John Smith", None])).tolist()
    ['张**', 'J*** S****', <NA>]
    """
    return _by_unique(s, _name_one)


def mask_contact(s: pd.Series) -> pd.Series:
    """A contact-detail column, masked whole: ``138****5678`` or ``j***@example.com``.

    >>> mask_contact(pd.Series(["13812345678", "ann@example.com", "wx_ann"])).tolist()
    ['138****5678', 'a***@example.com', '****']
    """

    def one(v: str) -> str:
        if "@" in v:
            return _EMAIL.sub(_mask_email_match, v) if _EMAIL.search(v) else "***"
        return _mask_digits(v)

    return _by_unique(s, one)


def mask_frame(
    df: pd.DataFrame, *, contact: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A copy of ``df`` with personal data masked in every text column.

    Columns listed in ``contact`` or with a contact-detail header are masked whole;
    person-name columns (by header) are masked as names; every other text column has the
    phones and e-mails it contains masked. Columns in ``skip`` are left alone.

    >>> df = pd.DataFrame({"联系人": ["王小明"], "联系方式": ["13912345678"],
    ...                    "备注": ["mail wxm@example.com"]})
    >>> mask_frame(df).iloc[0].tolist()
    ['王**', '139****5678', 'mail w***@example.com']
    """
    out = df.copy()
    for c in out.columns:
        if c in skip:
            continue
        col = out[c]
        if not (
            pd.api.types.is_object_dtype(col)
            or pd.api.types.is_string_dtype(col)
            or pd.api.types.is_integer_dtype(col)
            and column_kind(c) == "contact"
        ):
            continue
        kind = "contact" if c in contact else column_kind(c)
        if kind == "contact":
            out[c] = mask_contact(col)
        elif kind == "name":
            out[c] = mask_name(col)
        else:
            masked = mask_text(col)
            if not masked.equals(col.astype("string")):
                out[c] = masked if pd.api.types.is_string_dtype(col) else masked.astype(object)
    return out

"""The data contract: canonical tables, their columns, kinds, aliases and checks.

Each table is a :class:`TableSpec`; :func:`pandera_schema` turns one into a pandera
``DataFrameSchema`` used for the final, lazy contract check of cleaned data. Header
aliases cover English and Chinese names and the exports of common CRMs (Salesforce,
HubSpot, Pipedrive, Odoo, Maven); readers match them case- and space-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandera loads on the first contract check, not on import
    import pandera.pandas as pa

__all__ = ["Column", "TableSpec", "TABLES", "TABLE_NAMES", "pandera_schema", "DataContractError"]

#: Column kinds and the pandas dtype each becomes after cleaning.
DTYPES = {
    "id": "string",
    "text": "string",
    "category": "string",
    "stage": "string",
    "datetime": "datetime64[ns]",
    "number": "float64",
    "bool": "boolean",
    "period": "string",
}


class DataContractError(ValueError):
    """A table cannot be used at all (e.g. a required column is missing)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    min_value: float | None = None  # inclusive lower bound for numbers
    pii: bool = False  # masked in outputs by default
    fallback: str | None = None  # canonical column copied in when this one is absent

    @property
    def dtype(self) -> str:
        return DTYPES[self.kind]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # what identifies a row (duplicate detection)
    file_aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str, *aliases: str, required: bool = False, **kw) -> Column:
    return Column(name, kind, required, tuple(aliases), **kw)


_OWNER = (
    "owner",
    "rep",
    "sales rep",
    "salesperson",
    "sales person",
    "sales agent",
    "sales_agent",
    "opportunity owner",
    "deal owner",
    "deal - owner",
    "user",
    "负责人",
    "销售",
    "销售代表",
    "销售人员",
    "跟进人",
    "客户经理",
    "业务员",
    "跟进责任人",
    "销售负责人",
    "责任人",
)
_ACCOUNT_ID = (
    "account id",
    "customer id",
    "company id",
    "client id",
    "客户编号",
    "客户id",
    "客户代码",
)
_CHANNEL = (
    "channel",
    "lead source",
    "source",
    "original source",
    "deal - source",
    "来源渠道",
    "渠道",
    "线索来源",
    "来源",
    "客户来源",
)
_REGION = ("region", "territory", "regional office", "area", "区域", "大区", "地区")
_INDUSTRY = ("industry", "sector", "行业", "所属行业")
_PRODUCT = ("product", "product name", "product line", "series", "产品", "产品名称", "产品线")

TABLES: dict[str, TableSpec] = {
    "opportunities": TableSpec(
        "opportunities",
        (
            _c(
                "opportunity_id",
                "id",
                "opportunity id",
                "opp id",
                "deal id",
                "record id",
                "deal - id",
                "id",
                "商机编号",
                "商机id",
                "机会编号",
                "项目编号",
                required=True,
            ),
            _c("owner", "category", *_OWNER, required=True),
            _c(
                "created_at",
                "datetime",
                "created",
                "created date",
                "create date",
                "created on",
                "deal - deal created",
                "creation date",
                "创建时间",
                "创建日期",
                "立项日期",
                required=True,
                fallback="engaged_at",
            ),
            _c(
                "stage",
                "stage",
                "deal stage",
                "deal_stage",
                "stage name",
                "deal - stage",
                "current stage",
                "当前阶段",
                "阶段",
                "销售阶段",
                "商机阶段",
                required=True,
            ),
            _c(
                "amount",
                "number",
                "amount",
                "value",
                "deal value",
                "deal - value",
                "expected revenue",
                "opportunity amount",
                "expected amount",
                "预计成交金额",
                "金额",
                "预计金额",
                "商机金额",
                min_value=0,
            ),
            _c("account_id", "id", *_ACCOUNT_ID),
            _c(
                "account_name",
                "text",
                "account name",
                "account",
                "customer",
                "customer name",
                "company",
                "company name",
                "deal - organization",
                "客户名称",
                "客户",
                "公司名称",
                "公司",
            ),
            _c("channel", "category", *_CHANNEL),
            _c("region", "category", *_REGION),
            _c("team", "category", "team", "sales team", "manager", "团队", "销售团队", "小组"),
            _c("industry", "category", *_INDUSTRY),
            _c("product", "category", *_PRODUCT),
            _c(
                "expected_close_date",
                "datetime",
                "expected close date",
                "expected close",
                "close date (expected)",
                "expected closing",
                "deal - expected close date",
                "预计成交日期",
                "预计签约日期",
                "预计成交时间",
            ),
            _c("engaged_at", "datetime", "engage date", "engage_date", "engaged", "接洽日期"),
            _c(
                "stage_entered_at",
                "datetime",
                "stage entered",
                "entered current stage",
                "进入当前阶段时间",
                "进入当前阶段日期",
            ),
            _c("previous_stage", "text", "previous stage", "上一阶段"),
            _c(
                "previous_stage_left_at",
                "datetime",
                "previous stage left",
                "上一阶段退出时间",
                "上一阶段退出日期",
            ),
            _c(
                "closed_at",
                "datetime",
                "close date",
                "close_date",
                "closed date",
                "actual close date",
                "deal - won time",
                "成交日期",
                "关闭日期",
                "签约日期",
            ),
            _c(
                "close_amount",
                "number",
                "close value",
                "close_value",
                "won amount",
                "成交金额",
                "签约金额",
                min_value=0,
            ),
            _c(
                "loss_reason",
                "text",
                "lost reason",
                "loss reason",
                "closed lost reason",
                "deal - lost reason",
                "输单原因",
                "流失原因",
                "丢单原因",
            ),
            _c("currency", "category", "currency", "opportunity currency", "币种", "货币"),
            _c(
                "phone",
                "text",
                "phone",
                "mobile",
                "telephone",
                "电话",
                "手机",
                "联系电话",
                "联系方式",
                "手机号",
                pii=True,
            ),
            _c("contact_name", "text", "contact", "contact name", "联系人", pii=True),
            _c("email", "text", "email", "e-mail", "email address", "邮箱", "电子邮件", pii=True),
        ),
        key=("opportunity_id",),
        file_aliases=(
            "opportunities",
            "opportunity",
            "deals",
            "pipeline",
            "sales_pipeline",
            "商机",
            "客户阶段转化跟踪表",
        ),
    ),
    "stage_history": TableSpec(
        "stage_history",
        (
            _c(
                "opportunity_id",
                "id",
                "opportunity id",
                "opp id",
                "deal id",
                "商机编号",
                required=True,
            ),
            _c(
                "stage",
                "stage",
                "stage name",
                "to stage",
                "new stage",
                "new value",
                "阶段",
                "进入阶段",
                required=True,
            ),
            _c(
                "entered_at",
                "datetime",
                "entered",
                "entered at",
                "date entered",
                "last modified",
                "last modified date",
                "edit date",
                "stage change date",
                "stage date",
                "change date",
                "进入时间",
                "阶段开始时间",
                "变更时间",
                required=True,
            ),
            _c("owner", "category", *_OWNER),
            _c("amount", "number", "amount", "预计成交金额", "金额", min_value=0),
        ),
        key=("opportunity_id", "stage", "entered_at"),
        file_aliases=("stage_history", "history", "opportunity_history", "阶段历史"),
    ),
    "leads": TableSpec(
        "leads",
        (
            _c(
                "lead_id",
                "id",
                "lead id",
                "lead number",
                "prospect id",
                "线索编号",
                "线索id",
                "线索号",
                required=True,
            ),
            _c(
                "created_at",
                "datetime",
                "created",
                "created date",
                "create date",
                "创建时间",
                "获取日期",
                "获取时间",
                "captured at",
                "acquired at",
                required=True,
                fallback="assigned_at",
            ),
            _c("channel", "category", *_CHANNEL, required=True),
            _c("owner", "category", *_OWNER),
            _c("assigned_at", "datetime", "assigned", "assigned at", "分配时间", "分配日期"),
            _c(
                "first_response_at",
                "datetime",
                "first response",
                "first contacted",
                "首次响应时间",
                "首次跟进时间",
                "first follow-up",
                "first follow up",
            ),
            _c(
                "grade",
                "category",
                "grade",
                "lead grade",
                "rating",
                "等级",
                "客户等级",
                "线索等级",
                "初步意向等级",
                "intent grade",
                "意向等级",
            ),
            _c("converted", "bool", "converted", "is converted", "是否转化", "已转化"),
            _c("converted_at", "datetime", "converted date", "conversion date", "转化时间"),
            _c("opportunity_id", "id", "opportunity id", "converted opportunity id", "商机编号"),
            _c("region", "category", *_REGION),
            _c("industry", "category", *_INDUSTRY),
            _c(
                "account_name",
                "text",
                "company",
                "company name",
                "account name",
                "企业名称",
                "公司名称",
                "客户名称",
            ),
            _c("phone", "text", "phone", "mobile", "电话", "手机", "联系方式", "手机号", pii=True),
            _c("email", "text", "email", "e-mail", "邮箱", pii=True),
            _c("contact_name", "text", "contact", "contact name", "联系人", pii=True),
        ),
        key=("lead_id",),
        file_aliases=("leads", "lead", "线索", "线索获取与筛选表", "线索分级与分配表"),
    ),
    "activities": TableSpec(
        "activities",
        (
            _c(
                "activity_id", "id", "activity id", "task id", "跟进编号", "活动编号", required=True
            ),
            _c("owner", "category", *_OWNER, "assigned to", required=True),
            _c(
                "occurred_at",
                "datetime",
                "date",
                "activity date",
                "completed",
                "跟进日期",
                "跟进时间",
                "拜访日期",
                "日期",
                "follow-up date",
                "follow up date",
                required=True,
            ),
            _c("kind", "category", "type", "activity type", "kind", "跟进方式", "类型"),
            _c("account_id", "id", *_ACCOUNT_ID),
            _c("account_name", "text", "account name", "customer name", "客户名称", "企业名称"),
            _c("opportunity_id", "id", "opportunity id", "deal id", "商机编号"),
            _c("phone", "text", "phone", "mobile", "联系方式", "联系电话", "手机号", pii=True),
            _c("contact_name", "text", "contact", "contact name", "联系人", "沟通对象", pii=True),
            _c(
                "next_planned_at",
                "datetime",
                "next follow-up",
                "next planned",
                "下次跟进时间",
                "下次跟进日期",
                "下次跟进时间与计划",
            ),
        ),
        key=("activity_id",),
        file_aliases=(
            "activities",
            "activity",
            "followups",
            "follow_ups",
            "跟进记录",
            "客户跟进记录表",
        ),
    ),
    "orders": TableSpec(
        "orders",
        (
            _c("order_id", "id", "order id", "order number", "订单编号", "订单号", required=True),
            _c("account_id", "id", *_ACCOUNT_ID, required=True),
            _c(
                "ordered_at",
                "datetime",
                "order date",
                "date",
                "下单日期",
                "订单日期",
                required=True,
            ),
            _c(
                "amount",
                "number",
                "amount",
                "order amount",
                "total",
                "订单金额",
                "金额",
                required=True,
                min_value=0,
            ),
            _c("product", "category", *_PRODUCT),
            _c("owner", "category", *_OWNER),
            _c("channel", "category", *_CHANNEL),
        ),
        key=("order_id",),
        file_aliases=("orders", "order", "订单"),
    ),
    "targets": TableSpec(
        "targets",
        (
            _c(
                "period",
                "period",
                "period",
                "month",
                "quarter",
                "year",
                "期间",
                "月份",
                "季度",
                "周期",
                "统计周期",
                required=True,
            ),
            _c(
                "target_amount",
                "number",
                "target",
                "target amount",
                "quota",
                "目标",
                "目标金额",
                "业绩目标",
                "目标值",
                "目标额",
                "销售目标",
                required=True,
                min_value=0,
            ),
            _c(
                "actual_amount",
                "number",
                "actual",
                "actual amount",
                "当前值",
                "实际值",
                "销售额",
                "实际销售额",
                "完成额",
                min_value=0,
            ),
            _c("metric", "category", "metric", "量化指标", "指标"),
            _c("owner", "category", *_OWNER),
            _c("region", "category", *_REGION),
            _c("team", "category", "team", "sales team", "团队"),
            _c("product", "category", *_PRODUCT),
        ),
        key=("period", "metric", "owner", "region", "team", "product"),
        file_aliases=(
            "targets",
            "target",
            "quotas",
            "目标",
            "销售目标分解与追踪表",
            "销售业绩分析表",
        ),
    ),
    "accounts": TableSpec(
        "accounts",
        (
            _c("account_id", "id", *_ACCOUNT_ID, "account", required=True),
            _c("name", "text", "name", "account name", "company", "客户名称", "公司名称"),
            _c("industry", "category", *_INDUSTRY),
            _c("region", "category", *_REGION, "office_location", "office location"),
            _c("size", "category", "size", "company size", "employees band", "规模", "企业规模"),
            _c("tier", "category", "tier", "customer tier", "客户层级", "客户分层"),
            _c("last_contact_at", "datetime", "last contact", "最近跟进时间", "最近跟进日期"),
            _c(
                "first_purchase_at",
                "datetime",
                "first purchase",
                "first order date",
                "首次购买日期",
                "首单日期",
            ),
        ),
        key=("account_id",),
        file_aliases=("accounts", "account", "customers", "客户", "客户关系维护表"),
    ),
    # reference tables: what the values in other tables should be drawn from
    "products": TableSpec(
        "products",
        (
            _c("product", "category", *_PRODUCT, required=True),
            _c("series", "category", "series", "family", "product family", "系列"),
            _c(
                "list_price",
                "number",
                "sales price",
                "sales_price",
                "list price",
                "price",
                "单价",
                "价格",
                min_value=0,
            ),
        ),
        key=("product",),
        file_aliases=("products", "product", "产品"),
    ),
    "reps": TableSpec(
        "reps",
        (
            _c("owner", "category", *_OWNER, required=True),
            _c("manager", "category", "manager", "sales manager", "经理", "主管"),
            _c("team", "category", "team", "sales team", "团队", "小组"),
            _c("region", "category", *_REGION),
        ),
        key=("owner",),
        file_aliases=("reps", "sales_teams", "sales_team", "team", "users", "销售人员"),
    ),
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


def pandera_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema that cleaned data of ``table`` must satisfy.

    Required columns must be present and non-null; every present canonical column has its
    canonical dtype; numbers respect their lower bound. Unknown extra columns are allowed.
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    cols = {}
    for c in spec.columns:
        checks = [pa.Check.ge(c.min_value)] if c.min_value is not None else []
        cols[c.name] = pa.Column(
            c.dtype, checks=checks, nullable=not c.required, required=c.required
        )
    if table == "opportunities":
        cols["status"] = pa.Column(
            "string", pa.Check.isin(["open", "won", "lost"]), nullable=False, required=False
        )
    return pa.DataFrameSchema(cols, strict=False, name=table)

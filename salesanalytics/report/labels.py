"""One label table for reports: column labels and stage names in English and Chinese.

``lang`` is ``"en"``, ``"zh"`` (simplified) or ``"zh_hant"`` (traditional, converted from
the simplified label with OpenCC). A stage config's own labels win over this table for its
stages, so a company's stage names appear as configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

__all__ = ["LABELS", "label", "label_columns", "stage_labels", "LANGS"]

LANGS = ("en", "zh", "zh_hant")

#: canonical name -> (English, simplified Chinese)
LABELS: dict[str, tuple[str, str]] = {
    # stages of the default config
    "prospect": ("Prospect", "潜在客户"),
    "contacted": ("Contacted", "初步沟通"),
    "needs_confirmed": ("Needs confirmed", "需求确认"),
    "proposal": ("Proposal", "方案展示"),
    "negotiation": ("Negotiation", "商务谈判"),
    "contract": ("Contract", "等待签约"),
    "won": ("Won", "成交"),
    "lost": ("Lost", "流失"),
    # the guide's monthly stage summary [004]
    "stage": ("Stage", "阶段名称"),
    "period": ("Period", "周期"),
    "opening": ("Opening", "期初客户数"),
    "new": ("New", "新增客户数"),
    "closing": ("Closing", "期末客户数"),
    "advanced": ("Advanced", "转入下一阶段数"),
    "conversion": ("Conversion", "阶段转化率"),
    "previous_conversion": ("Previous conversion", "上期转化率"),
    "conversion_change": ("Change in conversion", "转化率变化"),
    "mean_dwell_days": ("Mean dwell (days)", "平均停留时间(天)"),
    "mean_dwell_exits": ("Mean dwell of exits (days)", "离开者平均停留(天)"),
    "average_amount": ("Average expected amount", "平均客单价"),
    "expected_amount": ("Expected amount", "预计成交金额"),
    "low_conversion": ("Conversion under threshold", "转化率低于阈值"),
    "slow": ("Dwell above reference", "停留超参考"),
    "regressed": ("Moved back", "退回上一阶段"),
    # funnel
    "reached": ("Reached", "到达数"),
    "lost_here": ("Lost here", "本阶段流失"),
    "open_here": ("Still open here", "本阶段在途"),
    "reached_share": ("Share of first stage", "占首阶段比例"),
    "conversion_low": ("Conversion low", "转化率下限"),
    "conversion_high": ("Conversion high", "转化率上限"),
    "cohort": ("Cohort", "批次"),
    # segments
    "channel": ("Channel", "客户来源"),
    "owner": ("Owner", "负责人"),
    "region": ("Region", "区域"),
    "team": ("Team", "团队"),
    "industry": ("Industry", "所属行业"),
    "product": ("Product", "产品线"),
    "grade": ("Grade", "意向等级"),
    "tier": ("Tier", "客户层级"),
    "account_id": ("Account", "客户编号"),
    "opportunity_id": ("Opportunity", "商机编号"),
    "lead_id": ("Lead", "线索编号"),
    # leads
    "leads": ("Leads", "线索数"),
    "opportunities": ("Opportunities", "商机数"),
    "lead_to_opportunity": ("Lead to opportunity", "线索转商机率"),
    "lead_to_opportunity_low": ("Lead to opportunity low", "线索转商机率下限"),
    "lead_to_opportunity_high": ("Lead to opportunity high", "线索转商机率上限"),
    "lead_to_won": ("Lead to won", "线索成交率"),
    "lead_to_won_low": ("Lead to won low", "线索成交率下限"),
    "lead_to_won_high": ("Lead to won high", "线索成交率上限"),
    "opportunity_to_won": ("Opportunity to won", "商机成交率"),
    "median_days_to_opportunity": ("Median days to opportunity", "转商机天数中位数"),
    "median_days_to_won": ("Median days to won", "成交天数中位数"),
    "median_days_to_convert": ("Median days to convert", "转化天数中位数"),
    "win_rate": ("Win rate", "赢单率"),
    "win_rate_low": ("Win rate low", "赢单率下限"),
    "win_rate_high": ("Win rate high", "赢单率上限"),
    "won_amount": ("Won amount", "成交金额"),
    "open": ("Open", "在途"),
    "sla_hours": ("SLA (hours)", "响应时限(小时)"),
    "responded": ("Responded", "已响应"),
    "within_sla": ("Within SLA", "时限内响应"),
    "breaches": ("Breaches", "超时数"),
    "pending": ("Pending", "未到时限"),
    "median_response_hours": ("Median response (hours)", "响应时间中位数(小时)"),
    "p90_response_hours": ("90th pct response (hours)", "响应时间90分位(小时)"),
    "compliance": ("Compliance", "达标率"),
    "compliance_low": ("Compliance low", "达标率下限"),
    "compliance_high": ("Compliance high", "达标率上限"),
    "measured_from": ("Measured from", "计时起点"),
    "cadence_days": ("Cadence (days)", "跟进频率(天)"),
    "accounts": ("Accounts", "客户数"),
    "gaps": ("Follow-up gaps", "跟进间隔数"),
    "gaps_within_cadence": ("Gaps within cadence", "按频率跟进数"),
    "cadence_compliance": ("Cadence compliance", "跟进频率达标率"),
    "planned": ("Planned follow-ups", "计划跟进数"),
    "done": ("Done", "已完成"),
    "plan_completion": ("Plan completion", "计划完成率"),
    "overdue": ("Overdue", "逾期"),
    "last_followup": ("Last follow-up", "最近跟进时间"),
    "days_since": ("Days since", "距今天数"),
    "status": ("Status", "状态"),
    "expected_owner": ("Owner by rule", "规则指定负责人"),
    "rule": ("Rule", "规则"),
    "broken": ("Rule broken", "违反规则"),
    # data overview and quality
    "table": ("Table", "数据表"),
    "column": ("Column", "字段"),
    "first": ("First", "最早"),
    "last": ("Last", "最晚"),
    "missing": ("Missing", "缺失"),
    "rows": ("Rows", "行数"),
    "rows_in": ("Rows in", "输入行数"),
    "clean": ("Clean", "有效"),
    "rejected": ("Rejected", "拒收"),
    "duplicates_dropped": ("Duplicates dropped", "删除重复"),
    "merged": ("Merged", "合并"),
    "action": ("Action", "处理"),
    "reason": ("Reason", "原因"),
    "value": ("Value", "数值"),
    "value_without_flagged": ("Value without flagged rows", "去除标记行后的数值"),
    "metric": ("Metric", "指标"),
    "kind": ("Kind", "类型"),
    "label": ("Label", "名称"),
    "count": ("Count", "数量"),
    "share": ("Share", "占比"),
    "amount_total": ("Total amount", "金额合计"),
    "amount_mean": ("Mean amount", "平均金额"),
    "amount": ("Amount", "金额"),
    "probability": ("Probability", "概率"),
    # dwell, stale deals, bottlenecks, reps
    "visits": ("Stage visits", "阶段次数"),
    "finished": ("Finished", "已完成"),
    "mean_days": ("Mean days", "平均天数"),
    "median_days": ("Median days", "中位天数"),
    "p90_days": ("90th pct days", "90分位天数"),
    "timeout_rate": ("Timeout rate", "超时率"),
    "days_in_stage": ("Days in stage", "停留天数"),
    "stage_mean_days": ("Stage mean (days)", "阶段平均天数"),
    "entered_at": ("Entered stage", "进入阶段时间"),
    "created_at": ("Created", "创建时间"),
    "benchmark": ("Benchmark", "基准"),
    "value_low": ("Value low", "下限"),
    "value_high": ("Value high", "上限"),
    "p_value": ("p-value", "p值"),
    "p_adjusted": ("Adjusted p-value", "校正p值"),
    "flagged": ("Flagged", "标记"),
    "tested": ("Tested", "已检验"),
    "coaching": ("Coaching", "需辅导"),
    "ratio": ("Ratio to team", "与团队之比"),
    "team_mean_days": ("Team mean (days)", "团队平均天数"),
    "opportunity_to_won_low": ("Opportunity to won low", "商机成交率下限"),
    "opportunity_to_won_high": ("Opportunity to won high", "商机成交率上限"),
    "dwell_days": ("Days in stage", "停留天数"),
    "completed": ("Completed", "已离开"),
    "mean_completed": ("Mean days (completed)", "平均天数(已离开)"),
    "median": ("Median days", "中位天数"),
    "p90": ("90th pct days", "90分位天数"),
    "max_days": ("Longest (days)", "最长停留时间(天)"),
    "min_days": ("Shortest (days)", "最短停留时间(天)"),
    "at_or_below_team": ("At or below team mean", "停留≤平均天数客户数"),
    "above_team": ("Above team mean", "停留>平均天数客户数"),
    "top_loss_reason": ("Top loss reason", "主要流失原因"),
    "top_loss_reasons": ("Top loss reasons", "主要流失原因"),
    "median_lost_amount": ("Median lost amount", "流失金额中位数"),
    "rows_used": ("Rows used", "使用行数"),
    "rows_flagged": ("Rows flagged", "标记行数"),
    "rows_rejected": ("Rows rejected", "拒收行数"),
    "detail": ("Detail", "说明"),
    "affects": ("Affects", "影响"),
    "source": ("Source file", "来源文件"),
    "row": ("Row", "行"),
    "measurable": ("Measurable", "可计算"),
    "note": ("Note", "备注"),
    "won_only": ("Won deals only", "仅含成交"),
    "status_then": ("Status", "状态"),
    "limit_hours": ("Limit (hours)", "时限(小时)"),
    "limit_days": ("Limit (days)", "时限(天)"),
    "hours": ("Hours", "小时"),
    "days": ("Days", "天数"),
    "within": ("Within limit", "按时"),
    "breach": ("Breach", "超时"),
    "median_hours": ("Median hours", "中位小时"),
    "label_en": ("Label (en)", "英文名称"),
    "label_zh": ("Label (zh)", "中文名称"),
    "configured": ("Configured", "已配置"),
}

#: Columns of the forecast, calibration and performance tables (notebooks 04-07).
LABELS.update(
    {
        "already_won": ("Already won", "已成交"),
        "from_open": ("From open deals", "来自在途商机"),
        "from_new": ("From new deals", "来自新增商机"),
        "expected": ("Expected", "预计"),
        "p10": ("P10", "P10"),
        "p50": ("P50", "P50"),
        "p90": ("P90", "P90"),
        "pace_ratio": ("Pace ratio", "进度比"),
        "expected_to_date": ("Expected to date", "截至当前应完成"),
        "lagging": ("Lagging", "落后"),
        "attainment": ("Attainment", "完成率"),
        "yoy": ("YoY", "同比增长"),
        "mom": ("MoM", "环比增长"),
        "stage_estimate": ("Stage estimate", "阶段估计"),
        "log_loss": ("Log-loss", "对数损失"),
        "brier": ("Brier score", "Brier 分数"),
        "ece": ("Calibration error (ECE)", "校准误差 (ECE)"),
        "auc": ("AUC", "AUC"),
        "churn_rate": ("Churn rate", "流失率"),
        "repeat_rate": ("Repeat-purchase rate", "复购率"),
        "new_customers": ("New customers", "新客户数"),
        "returning_customers": ("Returning customers", "老客户数"),
        "wape": ("WAPE", "加权绝对百分比误差"),
        "bias": ("Bias", "偏差"),
        "coverage": ("P10-P90 coverage", "区间覆盖率"),
        "accuracy": ("Accuracy", "准确率"),
        "target": ("Target", "目标值"),
        "actual": ("Actual", "当前值"),
        "gap": ("Gap", "差额"),
        "booked": ("Booked", "已成交金额"),
        "tier": ("Tier", "客户层级"),
        "scheme": ("Scheme", "分层方案"),
    }
)


_PCT_WORDS = (
    "conversion",
    "rate",
    "share",
    "compliance",
    "completion",
    "lead_to_",
    "_to_won",
    "attainment",
    "pace_ratio",
    "yoy",
    "mom",
    "wape",
    "coverage",
    "accuracy",
)


@lru_cache(maxsize=1)
def _converter():
    import opencc_purepy

    return opencc_purepy.OpenCC("s2t")


def _check(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def label(name: str, lang: str = "en", *, stages=None) -> str:
    """The label of a canonical column or stage name (the name itself when unknown).

    Examples
    --------
    >>> label("closing", "zh"), label("needs_confirmed", "zh_hant"), label("foo_bar")
    ('期末客户数', '需求確認', 'Foo bar')
    """
    _check(lang)
    text = None
    if stages is not None and str(name) in stages.keys:
        text = stages[str(name)].label("en" if lang == "en" else "zh")
    elif str(name) in LABELS:
        en, zh = LABELS[str(name)]
        text = en if lang == "en" else zh
    if text is None:
        return _humanise(str(name)) if lang == "en" else str(name)
    return _converter().convert(text) if lang == "zh_hant" else text


def _humanise(name: str) -> str:
    """``already_won`` -> ``Already won``: no raw snake_case header reaches a manager."""
    if "_" not in name or not name.replace("_", "").isalnum() or not name.islower():
        return name
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def stage_labels(keys: Iterable[str], lang: str = "en", *, stages=None) -> list[str]:
    """Labels of stage keys, from ``stages`` (a StageConfig) when given, else the table.

    Examples
    --------
    >>> stage_labels(["prospect", "won"], "zh")
    ['潜在客户', '成交']
    """
    return [label(k, lang, stages=stages) for k in keys]


def label_columns(df: pd.DataFrame, lang: str = "en", *, stages=None) -> pd.DataFrame:
    """A copy with column headers and stage names labelled in ``lang``.

    Examples
    --------
    >>> d = label_columns(pd.DataFrame({"stage": ["won"], "closing": [3]}), "zh")
    >>> d.columns.tolist(), d.iloc[0, 0]
    (['阶段名称', '期末客户数'], '成交')
    """
    out = df.copy()
    for col in ("stage", "next_stage"):
        if col in out.columns:
            out[col] = out[col].map(
                lambda v: label(v, lang, stages=stages) if isinstance(v, str) else v
            )
    out.columns = [label(c, lang) for c in out.columns]
    return out


def is_percent_column(name: str) -> bool:
    """Whether a canonical column holds a proportion shown as a percentage."""
    n = str(name)
    if "days" in n or "hours" in n or n.startswith(("median", "mean")):
        return False
    return any(w in n for w in _PCT_WORDS)

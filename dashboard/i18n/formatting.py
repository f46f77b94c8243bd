"""Numbers and dates per language: the same digits in both, Chinese dates as 2026年12月3日 and Chinese units
(年 for years)."""
from __future__ import annotations

from datetime import date, datetime

from dashboard.i18n.catalogue import current_language
from models.columns import horizon_short_label, horizon_years_label


def _zh(language: str | None) -> bool:
    return (language or current_language()) == "zh_CN"


def format_number(value: float, *, digits: int = 1, language: str | None = None) -> str:
    """12,345.6 in both languages (Chinese uses the same digits and separators)."""
    return f"{float(value):,.{digits}f}"


def format_percent(value: float, *, digits: int = 0, language: str | None = None) -> str:
    """A fraction as a percentage: 0.823 → '82%'."""
    return f"{float(value) * 100:.{digits}f}%"


def format_years(value: float, *, digits: int = 0, language: str | None = None) -> str:
    """'10 years' / '10 年'."""
    number = f"{float(value):.{digits}f}"
    if _zh(language):
        return f"{number} 年"
    return f"{number} year" + ("" if number == "1" else "s")


def format_date(value: date | datetime, *, language: str | None = None) -> str:
    """'3 December 2026' / '2026年12月3日'."""
    if _zh(language):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value:%B} {value.year}"


def horizon_label(horizon: float, *, language: str | None = None) -> str:
    """A horizon in months in words: 60 → '5 years' / '5 年'; 18 → '1.5 years' / '1.5 年'."""
    if not _zh(language):
        return horizon_years_label(horizon)
    years = float(horizon) / 12.0
    return (f"{years:.0f}" if abs(years - round(years)) < 1e-9 else f"{years:.1f}") + " 年"


def horizon_short(horizon: float, *, language: str | None = None) -> str:
    """A compact horizon: 60 → '5 y' / '5 年'; 18 → '18 mo' / '18 个月'."""
    if not _zh(language):
        return horizon_short_label(horizon)
    return f"{horizon / 12:g} 年" if horizon % 12 == 0 else f"{horizon:g} 个月"

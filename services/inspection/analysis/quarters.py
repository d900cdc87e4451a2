"""Calendar quarters in China time (Asia/Shanghai): `2026Q3` is 1 July to 30 September."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from kit.problem_text import BilingualError
from kit.validation import CHINA

PATTERN = r"^(20\d{2})Q([1-4])$"
# The quarters figures can be worked out for: FIRST (2015Q1) on, as the schema says it.
ANALYSABLE = r"^20(1[5-9]|[2-9]\d)Q[1-4]$"
_QUARTER = re.compile(PATTERN)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`2026Q3` → Quarter(2026, 3); anything else is a ValueError."""
        found = _QUARTER.fullmatch(text.strip().upper())
        if found is None:
            raise BilingualError(
                f"'{text}' is not a quarter like 2026Q3", f"“{text}”不是形如 2026Q3 的季度"
            )
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Quarter:
        """The quarter a moment falls in, in China time."""
        local = moment.astimezone(CHINA)
        return cls(local.year, (local.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> date:
        """Its first calendar day."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def next_first_day(self) -> date:
        """The first day of the next quarter (the end, exclusive)."""
        return self.next().first_day

    @property
    def start(self) -> datetime:
        """Midnight of the first day, China time."""
        return datetime.combine(self.first_day, datetime.min.time(), CHINA)

    @property
    def end(self) -> datetime:
        """Midnight of the next quarter's first day, China time (exclusive)."""
        return datetime.combine(self.next_first_day, datetime.min.time(), CHINA)

    def next(self) -> Quarter:
        """The following quarter."""
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self) -> Quarter:
        """The quarter before."""
        return Quarter(self.year - (self.number == 1), (self.number - 2) % 4 + 1)


# The first quarter the programme can have figures for: Ninghai's first zone, the provincial
# stationery zone (出口文具省级示范区, built by 2016 per 宁政办发〔2017〕49号), was planned from
# March 2015. Figures for an earlier quarter would be zeros that look like a finding.
FIRST = Quarter(2015, 1)


def ensure_analysable(quarter: Quarter) -> Quarter:
    """The quarter, if not before FIRST (else a ValueError naming the bound)."""
    if quarter < FIRST:
        raise BilingualError(
            f"{quarter} is before {FIRST}, the programme's first quarter",
            f"{quarter} 早于示范区工作的第一个季度 {FIRST}",
        )
    return quarter

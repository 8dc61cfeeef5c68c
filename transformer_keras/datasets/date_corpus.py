"""A generated translation corpus: dates written in many formats, paired with ISO 8601.

`make_date_corpus` writes dates from 1950 to 2049 in 15 unambiguous human-readable formats
("3 March 2021", "Wed, 3 Mar 21", "the 3rd of March 2021") with their "YYYY-MM-DD" forms as
targets: a small sequence-to-sequence task that needs no network and is deterministic given
a seed.
"""

from __future__ import annotations

import datetime
import random

from transformer_keras import _validation as check

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Numeric formats are unambiguous: with the year last they are day-first with a four-digit year
# (03/04/2021 is 3 April); with the year first they are year-month-day. Two-digit years only
# appear next to a weekday and a month name and stand for 1950-2049 (50-99 -> 19xx, 00-49 -> 20xx).
_DATE_TEMPLATES = (
    "{d} {month} {year}",  # 3 March 2021
    "{month} {d}, {year}",  # March 3, 2021
    "{dd}/{mm}/{year}",  # 03/03/2021
    "{wkd}, {d} {mon} {yy}",  # Wed, 3 Mar 21
    "{year}.{mm}.{dd}",  # 2021.03.03
    "the {nth} of {month} {year}",  # the 3rd of March 2021
    "{d} {mon} {year}",  # 3 Mar 2021
    "{weekday}, {month} {d}, {year}",  # Wednesday, March 3, 2021
    "{dd}-{mon}-{year}",  # 03-Mar-2021
    "{mon} {d} {year}",  # Mar 3 2021
    "{d}.{m}.{year}",  # 3.3.2021
    "{year}/{mm}/{dd}",  # 2021/03/03
    "{month} {nth}, {year}",  # March 3rd, 2021
    "{d} {month_lower} {year}",  # 3 march 2021
    "{weekday} {d} {month} {year}",  # Wednesday 3 March 2021
)


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _format_date(date: datetime.date, template: str) -> str:
    month = _MONTHS[date.month - 1]
    weekday = _WEEKDAYS[date.weekday()]
    return template.format(
        d=date.day,
        dd=f"{date.day:02d}",
        m=date.month,
        mm=f"{date.month:02d}",
        month=month,
        month_lower=month.lower(),
        mon=month[:3],
        weekday=weekday,
        wkd=weekday[:3],
        year=f"{date.year:04d}",
        yy=f"{date.year % 100:02d}",
        nth=_ordinal(date.day),
    )


def make_date_corpus(num_examples: int = 10000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generates human-readable dates in many formats, paired with their ISO 8601 form.

    Dates are drawn uniformly from 1950-01-01 to 2049-12-31 and written in one of 15 formats
    chosen uniformly, e.g. "3 March 2021", "March 3, 2021", "03/03/2021", "Wed, 3 Mar 21",
    "2021.03.03", "the 3rd of March 2021". Month and day names are English whatever the locale.
    All formats are unambiguous: numeric dates with the year last are day-first (dd/mm/yyyy,
    d.m.yyyy) with a four-digit year, numeric dates with the year first are year-month-day, and
    the only two-digit year ("Wed, 3 Mar 21") stands for 1950-2049 (50-99 mean 19xx).

    Args:
        num_examples: How many pairs to generate.
        seed: The random seed; the same seed gives the same pairs.

    Returns:
        A tuple `(sources, targets)`: the written dates and their "YYYY-MM-DD" forms.

    Raises:
        ValueError: If `num_examples` is not a non-negative integer.

    Example:
        >>> sources, targets = make_date_corpus(2, seed=0)
        >>> all(len(t) == 10 and t[4] == "-" for t in targets)
        True
    """
    num_examples = check.non_negative_int("num_examples", num_examples)
    rng = random.Random(seed)
    first = datetime.date(1950, 1, 1).toordinal()
    last = datetime.date(2049, 12, 31).toordinal()
    sources, targets = [], []
    for _ in range(num_examples):
        date = datetime.date.fromordinal(rng.randint(first, last))
        sources.append(_format_date(date, rng.choice(_DATE_TEMPLATES)))
        targets.append(date.isoformat())
    return sources, targets

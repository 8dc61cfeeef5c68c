"""Tests of `transformer_keras.datasets.date_corpus`: every written date parses to its target."""

import collections
import datetime
import re

from transformer_keras.datasets import make_date_corpus

# Reference parsers for every written form, after ordinal suffixes are removed.
DATE_FORMATS = (
    "%d %B %Y",
    "%B %d, %Y",
    "%d/%m/%Y",
    "%a, %d %b %y",
    "%Y.%m.%d",
    "the %d of %B %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%A %d %B %Y",
)


def _parse_written_date(source: str) -> tuple[set[datetime.date], set[str]]:
    match = re.search(r"\b(\d{1,2})(st|nd|rd|th)\b", source)
    if match:
        day = int(match.group(1))
        expected = "th" if 10 <= day <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        assert match.group(2) == expected, source
    cleaned = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", source)
    dates, formats = set(), set()
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
        if "%y" in fmt and parsed.year >= 2050:  # documented pivot: 50-99 mean 19xx
            parsed = parsed.replace(year=parsed.year - 100)
            assert cleaned.split(",")[0] == parsed.strftime("%a"), source
        dates.add(parsed)
        formats.add(fmt)
    return dates, formats


def test_date_corpus_targets_match_sources():
    sources, targets = make_date_corpus(3000, seed=0)
    assert len(sources) == len(targets) == 3000
    used = collections.Counter()
    for source, target in zip(sources, targets):
        date = datetime.date.fromisoformat(target)
        assert target == date.isoformat()
        assert 1950 <= date.year <= 2049
        dates, formats = _parse_written_date(source)
        assert dates == {date}, (source, target, dates)  # parses, and to one date only
        used.update(formats)
    assert set(used) == set(DATE_FORMATS)
    assert len(set(sources)) > 2900


def test_date_corpus_years_and_determinism():
    sources, targets = make_date_corpus(5000, seed=1)
    years = [int(t[:4]) for t in targets]
    assert min(years) < 1955 and max(years) > 2044
    assert make_date_corpus(20, seed=5) == make_date_corpus(20, seed=5)
    assert make_date_corpus(20, seed=5) != make_date_corpus(20, seed=6)
    assert make_date_corpus(0) == ([], [])

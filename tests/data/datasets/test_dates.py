"""nnzoo.data.datasets.dates: labels agree with the text (re-derived with Babel), variety, determinism, speed."""
import datetime
import time
from collections import Counter

import pytest

babel_dates = pytest.importorskip("babel.dates")

from nnzoo.data.datasets.dates import DATE_FORMATS, DATE_LOCALES, dates  # noqa: E402

N = 2000


@pytest.fixture(scope="module")
def pairs():
    return dates(N, seed=0)


def test_iso_labels_parse_and_lie_in_the_range(pairs):
    assert len(pairs) == N
    days = [datetime.date.fromisoformat(iso) for _, iso in pairs]
    assert all(d.isoformat() == iso for d, (_, iso) in zip(days, pairs))
    assert min(days) >= datetime.date(1950, 1, 1) and max(days) <= datetime.date(2049, 12, 31)
    assert len(set(days)) > 0.9 * N  # days spread over a century, few repeats


def test_each_text_is_its_date_in_one_of_the_locales_and_formats(pairs):
    # the reference: every (locale, format) rendering of the label's date, lower-cased; the text must be one
    for text, iso in pairs[:300]:
        d = datetime.date.fromisoformat(iso)
        options = {babel_dates.format_date(d, f, locale=loc).lower() for loc in DATE_LOCALES for f in DATE_FORMATS}
        assert text in options, (text, iso)
        assert text == text.lower()


def test_year_month_and_day_are_written_in_the_text(pairs):
    for text, iso in pairs:
        d = datetime.date.fromisoformat(iso)
        assert str(d.year) in text or f"{d.year % 100:02d}" in text
        assert str(d.day) in text


def test_formats_and_locales_vary(pairs):
    # month names from several languages occur (May in en, fr, de, es, it, nl)
    texts = " ".join(t for t, _ in pairs)
    for word in ("january", "janvier", "januar", "enero", "gennaio", "janeiro", "januari"):
        assert word in texts, word
    shapes = Counter("".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in t) for t, _ in pairs)
    assert len(shapes) > 50  # many different layouts
    assert any("/" in t for t, _ in pairs) and any("," in t for t, _ in pairs) and any("." in t for t, _ in pairs)


def test_same_seed_same_pairs_other_seed_other_pairs(pairs):
    assert dates(N, seed=0) == pairs
    other = dates(N, seed=1)
    assert other != pairs
    assert sum(a == b for a, b in zip(other, pairs)) < N // 100


def test_options_are_followed():
    out = dates(200, seed=3, locales=["de_DE"], formats=["dd.MM.y"], start="2000-02-01", end="2000-02-29")
    for text, iso in out:
        d = datetime.date.fromisoformat(iso)
        assert text == d.strftime("%d.%m.%Y")  # the pattern, by the standard library
        assert datetime.date(2000, 2, 1) <= d <= datetime.date(2000, 2, 29)
    assert dates(0) == []


def test_ten_thousand_pairs_in_a_few_seconds():
    t = time.perf_counter()
    dates(10_000, seed=5)
    assert time.perf_counter() - t < 3.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(formats=["d MMM YYY"]), "week-numbering"),
    (dict(locales=["xx_YY"]), "unknown locale"),
    (dict(start="2020-01-02", end="2020-01-01"), "before start"),
    (dict(start="yesterday"), "ISO date"),
    (dict(formats=[]), "at least one"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dates(5, **kwargs)


def test_week_year_pattern_would_mislabel_new_year():
    # why 'Y' is refused: 31 December 2018 is in week-year 2019
    d = datetime.date(2018, 12, 31)
    assert babel_dates.format_date(d, "d MMM YYY", locale="en_US") != babel_dates.format_date(d, "d MMM y",
                                                                                               locale="en_US")

"""Human-readable dates and their ISO form, the classic toy task for sequence-to-sequence models with
attention: ``("wednesday 9 may 2018", "2018-05-09")``. Generated offline, in any number, from a seed."""
from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["dates", "DATE_LOCALES", "DATE_FORMATS"]

DATE_LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_PT", "nl_NL")
# Babel's named formats of each locale, then CLDR patterns (d day, M month, y year, E weekday;
# more letters, longer forms: MMM 'may', MMMM 'may'/'mayo', EEEE 'wednesday').
DATE_FORMATS = ("full", "long", "medium", "short", "d MMM y", "d MMMM y", "dd MMM y", "d MMM, y", "d MMMM, y",
                "dd, MMM y", "d MM yy", "MMMM d y", "MMMM d, y", "d/M/yy", "dd.MM.yy", "EEEE d MMMM y",
                "EEEE, d MMMM y", "EEE d MMM y")
_NAMED = ("full", "long", "medium", "short")


def _babel():
    try:
        from babel import Locale
        from babel.dates import format_date
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("nnzoo.data.datasets.dates needs the 'babel' package: pip install babel") from None
    return Locale, format_date


def _faker(seed):
    """A Faker instance whose random stream starts from ``seed`` (Faker draws the days and the choices)."""
    try:
        from faker import Faker
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("nnzoo.data.datasets.dates needs the 'faker' package: pip install faker "
                          "(or pip install nnzoo[data])") from None
    fake = Faker()
    fake.seed_instance(seed)
    return fake


def _date(value: datetime.date | str, name: str) -> datetime.date:
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"dates: {name} must be an ISO date like '1950-01-01', got {value!r}") from None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raise TypeError(f"dates: {name} must be a datetime.date or an ISO date string, got {type(value).__name__}")


def _check_pattern(fmt):
    if not isinstance(fmt, str) or not fmt:
        raise ValueError(f"dates: a format must be a non-empty str, got {fmt!r}")
    # NOTE: in CLDR patterns 'Y' is the week-numbering year, which differs from the calendar year for
    # a few days around 1 January (31 December 2018 is in week-year 2019): the label would disagree.
    if fmt not in _NAMED and "Y" in re.sub(r"'[^']*'", "", fmt):
        raise ValueError(f"dates: format {fmt!r} uses 'Y', the week-numbering year, which differs from the "
                         "calendar year around 1 January; use 'y' (e.g. 'd MMM y')")


def dates(n: int, seed: int = 0, locales: Sequence[str] = DATE_LOCALES, formats: Sequence[str] | None = None,
          start: datetime.date | str = "1950-01-01", end: datetime.date | str = "2049-12-31") -> list[tuple[str, str]]:
    """``n`` pairs (human-readable date, ISO date), e.g. ``("mercredi 9 mai 2018", "2018-05-09")``.

    Each pair draws, independently and uniformly, a day in [start, end] (Faker's ``date_between_dates``),
    a locale and a format (Faker's random stream), and writes the day with Babel's ``format_date`` in
    that locale and format, lower-cased (commas, dots, slashes and dashes stay as the format gives
    them). Faker is seeded with ``seed``: the same seed (and Faker and Babel versions) gives the same
    pairs.

    Ambiguity: with the default range, a two-digit year names one year (50-99: 1950s-1990s, 00-49:
    2000s-2040s). Numeric formats are day first except en_US 'short' (M/d/yy), so about 0.25% of the
    default pairs (en_US 'short' with day and month both at most 12) read both ways; leave out en_US
    or 'short' for a fully determined task.

    Args:
        n (int): the number of pairs.
        seed (int): the seed of the draws.
        locales (sequence of str): Babel locale names to draw from (default ``DATE_LOCALES``: en_US,
            en_GB, fr_FR, de_DE, es_ES, it_IT, pt_PT, nl_NL).
        formats (sequence of str, optional): ``'full'``, ``'long'``, ``'medium'``, ``'short'`` (the
            locale's own) or CLDR patterns such as ``'d MMM y'``; default ``DATE_FORMATS`` (18 of them).
        start, end: the first and last possible day (``datetime.date`` or an ISO string).

    Returns:
        a list of ``n`` (str, str) tuples.

    Example::

        >>> from nnzoo.data.datasets.dates import dates
        >>> pairs = dates(3, seed=1, locales=["en_GB"], formats=["EEEE d MMMM y"])
        >>> len(pairs), all(len(iso) == 10 for _, iso in pairs)
        (3, True)
        >>> dates(1, locales=["fr_FR"], formats=["full"], start="2018-05-09", end="2018-05-09")
        [('mercredi 9 mai 2018', '2018-05-09')]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"dates: n must be a non-negative int, got {n!r}")
    Locale, format_date = _babel()
    formats = DATE_FORMATS if formats is None else tuple(formats)
    locales = tuple(locales)
    if not formats or not locales:
        raise ValueError(f"dates: need at least one locale and one format, got locales={locales} and "
                         f"formats={formats}")
    for fmt in formats:
        _check_pattern(fmt)
    parsed = []
    for name in locales:
        try:
            parsed.append(Locale.parse(name))
        except Exception as e:  # babel raises UnknownLocaleError or ValueError
            raise ValueError(f"dates: unknown locale {name!r} ({e})") from None
    first, last = _date(start, "start").toordinal(), _date(end, "end").toordinal()
    if last < first:
        raise ValueError(f"dates: end {end} is before start {start}")
    fake = _faker(seed)
    first, last = datetime.date.fromordinal(first), datetime.date.fromordinal(last)
    pairs = []
    for _ in range(n):
        d = fake.date_between_dates(first, last)
        loc = parsed[fake.random.randrange(len(parsed))]
        fmt = formats[fake.random.randrange(len(formats))]
        pairs.append((format_date(d, fmt, locale=loc).lower(), d.isoformat()))
    return pairs

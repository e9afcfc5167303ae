"""Language-aware formatting, in one place: every renderer writes numbers, dates, lists,
arrows, quotes and counted nouns through a :class:`Lang`.

What is a word comes from the KB (its texts); how a language writes is KB data too: its
direction (the manifest's ``rtl``) and its ``typography`` (list and clause separators,
quotation marks, one choice of digits, the decimal and percent signs, the calendar; the
shipped KB: Persian digits in ``fa``, Western digits in ``en`` and ``ar``, as the KB's own
Arabic texts write them). Here is the machinery that applies them: the arrow of a change
(mirrored for a right-to-left language, so "before → after" still reads from the old
value to the new), isolates, brackets for a status, plural forms, dates.

Counted nouns use ICU plural syntax inside a KB text, so the KB states the forms and the
language's plural rules (CLDR, through Babel) pick one::

    ar: "{n, plural, one {يوم واحد} two {يومان} few {# أيام} many {# يومًا} other {# يوم}}"

Dates: Babel's localised Gregorian date (month names in the reader's language); for
Persian the Solar Hijri date first (jdatetime) with the Gregorian date beside it. ISO
dates stay in JSON and calendars.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate, pop directional isolate

_DIGITS = {"latin": str.maketrans("", ""),
           "persian": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
           "arabic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")}
_WESTERN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@dataclass(frozen=True)
class Style:
    """How a language writes what the engine computes: the KB's ``typography`` entry for
    the language (``kb/kb.yaml``); a language without one gets the Latin defaults."""

    list_sep: str = ", "
    clause_sep: str = "; "
    quotes: tuple[str, str] = ("“", "”")
    digits: str = "latin"  # latin | persian | arabic
    decimal: str = "."
    percent: str = "%"  # the sign after a share
    calendar: str = "gregorian"  # gregorian | solar_hijri (with the Gregorian beside it)
    # the Gregorian months as the language names them in a date, and its CLDR plural rules
    # ({category: rule}); where the KB gives neither, babel's locale data is loaded (~25 ms
    # of a cold start)
    months: tuple[str, ...] = ()
    plural: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, spec: Any) -> Style:
        """The style a KB's ``typography`` entry describes."""
        if not spec:
            return cls()
        spec = dict(spec)
        for key in ("quotes", "months"):
            if key in spec:
                spec[key] = tuple(spec[key])
        if "plural" in spec:
            spec["plural"] = tuple(sorted(dict(spec["plural"]).items()))
        return cls(**spec)


class Lang:
    """The typography of one language: ``rtl`` from the KB's manifest, ``style`` from its
    ``typography``."""

    def __init__(self, code: str, rtl: bool = False, style: Style | None = None) -> None:
        self.code, self.rtl = code, rtl
        self.style = style or Style()

    @property
    def direction(self) -> str:
        """``rtl`` or ``ltr``: which way a line, and a flow drawn for this reader, runs."""
        return "rtl" if self.rtl else "ltr"

    @property
    def list_style(self) -> str:
        """The CSS counter style that numbers a list in the language's digits."""
        return {"persian": "persian", "arabic": "arabic-indic"}.get(self.style.digits,
                                                                      "decimal")

    @property
    def arrow(self) -> str:
        """From the old to the new: points along the reading direction."""
        return "←" if self.rtl else "→"

    @property
    def sep(self) -> str:
        return self.style.list_sep

    @property
    def semi(self) -> str:
        return self.style.clause_sep

    def join(self, items: Any, sep: str | None = None) -> str:
        """Items joined with the language's list separator (``sep`` overrides)."""
        return (self.sep if sep is None else sep).join(str(x) for x in items)

    def pad(self, text: str, width: int) -> str:
        """``text`` followed by spaces up to ``width`` terminal columns (marks and
        isolates take none)."""
        return text + " " * max(0, width - display_width(text))

    def quote(self, text: str) -> str:
        q0, q1 = self.style.quotes
        return f"{q0}{self.isolate(text)}{q1}"

    def isolate(self, text: str) -> str:
        """``text`` in Unicode isolates in right-to-left output, so a name or a note in
        another script keeps its own direction without reordering the line around it."""
        if not self.rtl or not text or (text.startswith(FSI) and text.endswith(PDI)):
            return text
        return f"{FSI}{text}{PDI}"

    def bracket(self, text: str) -> str:
        """A status or severity in its own brackets (mirrored by the bidi algorithm)."""
        return f"[{text}]"

    def digits(self, text: str) -> str:
        """The digits of ``text`` in the language's one choice of digits."""
        return text.translate(_DIGITS.get(self.style.digits, _DIGITS["latin"]))

    def num(self, value: Any) -> str:
        """A number as the language writes it (other values as they are)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) \
            else str(value)
        if self.style.decimal != ".":
            text = text.replace(".", self.style.decimal)
        return self.digits(text)

    def percent(self, share: float, tenths: bool = False) -> str:
        """A share (``0.82``) as a percentage in the language's digits and sign: whole,
        or to a tenth at most with ``tenths``."""
        pct = round(share * 100, 1) if tenths else round(share * 100)
        return f"{self.num(pct)}{self.style.percent}"

    def shown(self, value: Any, display: str = "number") -> str:
        """A value as the KB declares it is shown (a parameter's or measure's
        ``display``): ``percent`` turns a share (``0.8``) into a percentage (80%, ۸۰٪ in
        Persian, to a tenth at most); anything else is :meth:`num`."""
        if display == "percent" and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            return self.percent(value, tenths=True)
        return self.num(value)

    def date(self, day: dt.date | str | None, inner: bool = False) -> str:
        """A date for the reader: localised month names; Solar Hijri first in Persian,
        with the Gregorian date beside it in brackets (square ones when the date itself
        stands ``inner`` round brackets, so they never nest)."""
        if day is None:
            return "—"
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        months = self.style.months
        greg = f"{day.day} {months[day.month - 1]} {day.year}" if len(months) == 12 \
            else _gregorian(day, self.code)
        if self.style.calendar == "solar_hijri":
            o, c = "[]" if inner else "()"
            return f"{self.digits(_solar_hijri(day))} {o}{self.digits(greg)}{c}"
        return greg

    def plural(self, text: str, **args: Any) -> str:
        """Expand every ``{name, plural, ...}`` block of ``text`` for ``args[name]``."""
        return _expand(text, self, args)

    def format(self, text: str, **args: Any) -> str:
        """A KB text with its placeholders filled: plural blocks first, numbers in the
        language's digits."""
        text = self.plural(text, **args)
        if not args:
            return text
        shown = {k: self.num(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else v for k, v in args.items()}
        return text.format(**shown)


@cache
def lang_of(code: str, rtl: bool = False, style: Style | None = None) -> Lang:
    return Lang(code, rtl, style)


def for_kb(kb: Any, code: str) -> Lang:
    """The :class:`Lang` of ``code`` in ``kb`` (right to left as its manifest says)."""
    return lang_of(code, code in kb.rtl, _style(kb, code))


def _style(kb: Any, code: str) -> Style:
    return Style.of((getattr(kb, "typography", None) or {}).get(code))


def is_iso_date(text: str) -> bool:
    """``text`` is a date as the engine writes it (``2026-11-16``); free text that only
    looks like one (``2026-13-01``, a client's name) is not."""
    if not (len(text) == 10 and text[4] == "-" and text[7] == "-"
            and text.replace("-", "").isdigit()):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: combining marks (Arabic harakat),
    direction marks and isolates, joiners take none; wide East Asian characters two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def to_western(text: str) -> str:
    return text.translate(_WESTERN)


@cache
def _gregorian(day: dt.date, code: str) -> str:
    try:
        from babel.dates import format_date
    except ImportError:  # pragma: no cover - babel is a dependency
        return day.isoformat()
    try:
        return to_western(str(format_date(day, "d MMMM y", locale=code)))
    except Exception:  # an unknown locale: the ISO date
        return day.isoformat()


@cache
def _solar_hijri(day: dt.date) -> str:
    import jdatetime

    j = jdatetime.date.fromgregorian(date=day, locale="fa_IR")
    return f"{j.day} {j.j_months_fa[j.month - 1]} {j.year}"


_PLURAL_HEAD = re.compile(r"\{(\w+),\s*(plural|select),\s*")
_FORM = re.compile(r"\s*(=\d+|[a-z_][a-z0-9_]*)\s*\{")


def _category(lang: Lang, n: Any) -> str:
    try:
        return str(_plural_rule(lang.code, lang.style.plural)(abs(n)))
    except Exception:
        return "one" if n == 1 else "other"


@cache
def _plural_rule(code: str, rules: tuple[tuple[str, str], ...]) -> Callable[[Any], str]:
    """The language's plural categories: the KB's CLDR rules, else babel's locale data."""
    if rules:
        from babel.plural import PluralRule

        return PluralRule(dict(rules))
    from babel import Locale

    return Locale.parse(code).plural_form


def _expand(text: str, lang: Lang, args: dict[str, Any]) -> str:
    """ICU-style blocks: ``{n, plural, one {# day} other {# days}}`` takes the language's
    form for the number (``=N`` forms first); ``{basis, select, term_end {...} other
    {...}}`` the form named by the value. A chosen form may hold blocks of its own."""
    out, pos = [], 0
    for m in _PLURAL_HEAD.finditer(text):
        if m.start() < pos:
            continue
        forms, i = {}, m.end()
        while True:
            fm = _FORM.match(text, i)
            if not fm:
                break
            depth, j = 1, fm.end()
            while depth and j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            forms[fm.group(1)] = text[fm.end():j - 1]
            i = j
        end = text.index("}", i) + 1
        value = args.get(m.group(1))
        if m.group(2) == "select":
            form = _expand(forms.get(str(value), forms.get("other", "")), lang, args)
        else:
            n = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
            form = forms.get(f"={n}") or forms.get(_category(lang, n)) \
                or forms.get("other", "")
            form = _expand(form, lang, args).replace("#", lang.num(n))
        out += [text[pos:m.start()], form]
        pos = end
    out.append(text[pos:])
    return "".join(out)


# -- the KB's words for what renderers show beside the prose -----------------------------

def ids_shown(lang: str) -> bool:
    """Engine ids (rule ids, concept keys, enum values) are English words: they are shown
    beside their titles in English output only; the JSON carries them in every language."""
    return lang == "en"


def ui(kb: Any, key: str, lang: str, **args: Any) -> str:
    """The KB's interface text ``key`` in ``lang`` with its placeholders filled."""
    return for_kb(kb, lang).format(kb.ui_text(key, lang), **args)


def section(kb: Any, label: str, lang: str) -> str:
    """A source section label (``repair 1``) in ``lang``: its word from the KB's
    ``section_<word>`` texts, its number in the language's digits."""
    m = re.match(r"^(.*?)\s*(\d+)?$", label.strip())
    word, number = (m.group(1), m.group(2)) if m else (label, None)
    key = "section_" + re.sub(r"[\s-]+", "_", word)
    text = kb.ui_text(key, lang) if key in kb.ui else word
    return f"{text} {for_kb(kb, lang).num(int(number))}" if number else text


def citation(kb: Any, source: str, label: str | None, lang: str) -> str:
    """``S4 repair 1`` in ``lang`` (the source id stays: it is a citation code)."""
    if not label:
        return source
    return ui(kb, "source_citation", lang, source=source, section=section(kb, label, lang)) \
        if "source_citation" in kb.ui else f"{source} {label}"


def guidance_refs(kb: Any, ids: Any, lang: str = "en") -> str:
    """``SIG-01 (S1 reason 1; S2 reason 1)`` for each id, the sections in ``lang``."""
    lx = for_kb(kb, lang)
    parts = []
    for gid in ids:
        srcs = kb.guidance.get(gid, {}).get("sources", [])
        where = lx.join((citation(kb, s["id"], s.get("section"), lang) for s in srcs), lx.semi)
        parts.append(f"{gid} ({where})" if where else gid)
    return lx.join(parts)


def decision_text(kb: Any, value: str, lang: str) -> str:
    """A decision as the reader sees it: its title (after the value in capitals, in
    English output)."""
    concept = kb.concept(kb.outputs["decision"].get("concept", ""), value)
    title = kb.text(concept.title, lang) if concept else value
    if ids_shown(lang):
        return f"{value.upper()} — {title}" if concept else value.upper()
    return title


def param_title(kb: Any, name: str, lang: str) -> str:
    """A parameter's title in ``lang`` (its name when it has none)."""
    p = kb.parameters.get(name)
    return kb.text(p.title, lang) if p is not None and p.title else name


def param_value(kb: Any, name: str, value: Any, lang: str) -> str:
    """A parameter's value for a person: as its ``display`` says (a share as a
    percentage), else with its unit when the KB words it (``unit_<unit>``, plural forms),
    else the number in the reader's digits."""
    lx = for_kb(kb, lang)
    p = kb.parameters.get(name)
    if p is None:
        return lx.num(value)
    if p.display != "number":
        return lx.shown(value, p.display)
    unit = f"unit_{p.unit}"
    return lx.format(kb.ui_text(unit, lang), n=value) if unit in kb.ui else lx.num(value)


# -- text for a terminal -----------------------------------------------------------------

_HANG = re.compile(r"^(\s*(?:[•–·▶✓✗→←-]\s|\[[ x]\]\s|[0-9۰-۹]+[.)]\s)?\s*)")
# a first column (a date, a name) ended by a gap of two spaces: continuations hang under
# the text after the gap
_COLUMN = re.compile(r"^(\s*\S(?:.*?\S)?\s{2,})(?=\S)")
# a date as Lang.date writes it (day, month name, year; in Persian the Gregorian date in
# brackets after it): never broken across lines
_DATE = re.compile(r"[0-9۰-۹]{1,2} [^\s\d()\[\]،,]+ [0-9۰-۹]{4}"
                   r"(?: [(\[][0-9۰-۹]{1,2} [^\s\d()\[\]،,]+ [0-9۰-۹]{4}[)\]])?")
_GLUE = "\x00"  # stands for a space that must not break while a line is wrapped


def fit_width(text: str, width: int | None) -> str:
    """``text`` with its long lines wrapped to ``width`` columns: prose wraps under its own
    indentation (after a bullet, a number, a checkbox, or a first column such as a date
    followed by two spaces), the structure of the lines is kept, a date is never broken,
    and a line never ends inside a directional isolate (a wrapped Latin name in Arabic
    text is closed at the line's end and reopened on the next). ``None`` or a width under
    20 leaves the text as it is."""
    import textwrap

    if not width or width < 20:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if display_width(line) <= width:
            out.append(line)
            continue
        line = _DATE.sub(lambda m: m.group(0).replace(" ", _GLUE), line)
        m = _HANG.match(line)
        lead = m.group(1) if m else ""
        column = _COLUMN.match(line) if not lead.strip() else None
        if column and display_width(column.group(1)) <= width // 2:
            lead = column.group(1)
        indent = display_width(lead)
        pieces = textwrap.wrap(line[len(lead):], width - indent, break_long_words=False,
                               break_on_hyphens=False) or [""]
        pad = " " * indent
        depth = 0
        for i, piece in enumerate(pieces):
            opened = FSI * depth  # isolates still open from the previous piece
            depth = max(0, depth + piece.count(FSI) - piece.count(PDI))
            out.append(f"{lead if i == 0 else pad}{opened}{piece}{PDI * depth}"
                       .replace(_GLUE, " "))
    return "\n".join(out)

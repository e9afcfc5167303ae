"""Draft the message that ends a relationship, from the KB's templates (sandboxed Jinja2).

The KB's ``letters/*.yaml`` hold one template per channel (``email``, ``meeting``, ...) and
language, plus the words a message must never use. The engine only passes data: the
client's name, the plan's dates, the plan's steps by id, the case as written and the
effective parameters. What the message says, and when, is the template's business.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .. import _yaml, limits
from .._validate import validate, validator_for
from ..assessment import Assessment
from ..errors import KBError, QueryError, Source, did_you_mean
from ..knowledge import KnowledgeBase, Texts
from .lang import Lang, for_kb
from .plan import plan_items, span_days

# Unicode first-strong isolate / pop directional isolate: a Latin name or a date inside
# Arabic or Persian text keeps its own direction without reordering its neighbours.
FSI, PDI = "\u2068", "\u2069"


@dataclass(frozen=True)
class Situation:
    """Texts of a letter that depend on the case: used when one of ``signals`` is among
    the case's red flags (no ``signals``: the usual case, the last of a letter's list)."""

    id: str
    signals: frozenset[str]
    texts: Mapping[str, Texts]
    origin: Source


@dataclass(frozen=True)
class LetterTemplate:
    """One channel's message template in every language, with where each one starts."""

    channel: str
    title: Texts
    guidance: tuple[str, ...]
    templates: Mapping[str, str]
    origins: Mapping[str, Source]
    description: Texts | None = None
    situations: tuple[Situation, ...] = ()


@dataclass(frozen=True)
class WordList:
    """Words a message must not contain in one language (``word``: whole words only)."""

    match: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Letters:
    """Every letter template and forbidden-word list of a KB (base plus overlays)."""

    channels: Mapping[str, LetterTemplate]
    forbidden: Mapping[str, WordList]


@cache
def _validators() -> dict[str, Any]:
    text = resources.files("partways").joinpath("schemas/letters.schema.json").read_text(
        "utf-8")
    schema: dict[str, Any] = json.loads(text)
    out = {}
    for definition in ("letter_file", "forbidden_file"):
        one = dict(schema)
        one["$ref"] = f"#/$defs/{definition}"
        out[definition] = validator_for(one)
    return out


_LOADED: dict[tuple[str, ...], Letters] = {}


def load_letters(kb: KnowledgeBase) -> Letters:
    """Read ``letters/*.yaml`` of every KB root; a later root's channel replaces an
    earlier one per language, and forbidden words add up (an overlay can only add)."""
    if kb.roots in _LOADED:
        return _LOADED[kb.roots]
    channels: dict[str, LetterTemplate] = {}
    forbidden: dict[str, tuple[str, set[str]]] = {}
    for root in kb.roots:
        folder = Path(root) / "letters"
        files = sorted(folder.rglob("*.yaml")) if folder.is_dir() else []
        for path in files:
            doc = _yaml.load_file(str(path), KBError)
            definition = "forbidden_file" if isinstance(doc.data, dict) and \
                "forbidden" in doc.data else "letter_file"
            validate(doc, _validators()[definition], KBError)
            if definition == "forbidden_file":
                for lang, spec in doc.data["forbidden"].items():
                    _match, words = forbidden.get(lang, (spec["match"], set()))
                    forbidden[lang] = (spec["match"], words | set(spec["words"]))
                continue
            channels[doc.data["channel"]] = _letter(doc, channels.get(doc.data["channel"]))
    for letter in channels.values():
        missing = [lang for lang in kb.languages if lang not in letter.templates]
        if missing:
            raise KBError(f"letter '{letter.channel}' has no template in "
                          f"{', '.join(missing)}", next(iter(letter.origins.values())))
        _check_situations(kb, letter)
        for lang in letter.templates:
            _compile(kb, letter, lang)  # a syntax error is a KB error, found at load
    letters = Letters(dict(sorted(channels.items())),
                      {lang: WordList(m, tuple(sorted(w))) for lang, (m, w)
                       in sorted(forbidden.items())})
    _LOADED[kb.roots] = letters
    return letters


def _letter(doc: _yaml.Document, base: LetterTemplate | None) -> LetterTemplate:
    data = doc.data
    templates = {**(base.templates if base else {}), **data["templates"]}
    origins = {**(base.origins if base else {}),
               **{lang: doc.source(("templates", lang)) for lang in data["templates"]}}
    situations = tuple(
        Situation(s["id"], frozenset(s.get("signals", ())), s["texts"],
                  doc.source(("situations", i)))
        for i, s in enumerate(data["situations"])) if "situations" in data else \
        (base.situations if base else ())  # an overlay's list replaces the whole list
    return LetterTemplate(data["channel"], data["title"], tuple(data["guidance"]), templates,
                          origins, data.get("description"), situations)


def _check_situations(kb: KnowledgeBase, letter: LetterTemplate) -> None:
    """Every situation words the same parts in every language, and the last one (only)
    is the usual case, so a template always finds its texts."""
    if not letter.situations:
        return
    parts = set(letter.situations[0].texts)
    known = set(kb.concepts.get(kb.findings_concept(), {}))
    for i, s in enumerate(letter.situations):
        last = i == len(letter.situations) - 1
        if last == bool(s.signals):
            raise KBError(f"letter '{letter.channel}': situation '{s.id}' "
                          + ("is the last, so it needs no signals: it is the usual case"
                             if last else "needs signals: only the last one is the usual case"),
                          s.origin)
        if set(s.texts) != parts:
            raise KBError(f"letter '{letter.channel}': situation '{s.id}' words "
                          f"{', '.join(sorted(s.texts))}, not {', '.join(sorted(parts))} "
                          f"as '{letter.situations[0].id}' does", s.origin)
        for part, texts in sorted(s.texts.items()):
            missing = [lang for lang in kb.languages if not texts.get(lang)]
            if missing:
                raise KBError(f"letter '{letter.channel}': situation '{s.id}' has no "
                              f"'{part}' in {', '.join(missing)}", s.origin)
        unknown = sorted(s.signals - known) if known else []
        if unknown:
            raise KBError(f"letter '{letter.channel}': situation '{s.id}' names unknown "
                          f"signal '{unknown[0]}'{did_you_mean(unknown[0], known)}", s.origin)


def _situation(letter: LetterTemplate | None, signals: set[str]) -> Situation | None:
    """The first situation of ``letter`` one of ``signals`` calls for, else the usual."""
    for s in letter.situations if letter else ():
        if not s.signals or s.signals & signals:
            return s
    return None


def letter_channels(kb: KnowledgeBase) -> tuple[str, ...]:
    """The channels the KB has message templates for (e.g. ``email``, ``meeting``)."""
    return tuple(load_letters(kb).channels)


@cache
def _environment(lx: Lang) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    class _Bounded(ImmutableSandboxedEnvironment):
        """No template may build a huge range, string or list (``'x' * 10**9``)."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int) and abs(right) > 64:
                raise SecurityError("exponent too large in a letter template")
            if operator == "*":
                size = next((abs(n) for n in (left, right)
                             if isinstance(n, int) and not isinstance(n, bool)), 1)
                seq = next((len(x) for x in (left, right) if hasattr(x, "__len__")), None)
                if seq is not None and seq * size > limits.MAX_TEMPLATE_OUTPUT:
                    raise SecurityError("repetition too large in a letter template")
            return super().call_binop(context, operator, left, right)

    def bounded_range(*args: int) -> range:
        r = range(*args)
        if len(r) > limits.MAX_TEMPLATE_RANGE:
            raise SecurityError(f"range() longer than {limits.MAX_TEMPLATE_RANGE} in a "
                                f"letter template")
        return r

    def finalize(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return lx.num(value)  # the language's digits (a number needs no isolate)
        return _isolate(value) if lx.rtl else value

    # Sandboxed and immutable: templates are data and may come from a user's overlay.
    # StrictUndefined: a misspelt name is an error, never a silently empty sentence.
    env = _Bounded(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    env.globals["range"] = bounded_range
    return env


# Template statements that would reach outside the template (there is no loader).
_FORBIDDEN_NODES = ("Include", "Import", "FromImport", "Extends")
#: Loops (and macros) nested deeper than this are refused: with ranges and lists
#: bounded, the work a template can do stays bounded too.
MAX_LOOP_NESTING = 2


def check_template(source: str) -> str | None:
    """Why a letter template is refused (it is data: no include/import/extends, loops
    nested at most :data:`MAX_LOOP_NESTING` deep), or ``None``. Raises jinja2's
    ``TemplateSyntaxError`` for a template that does not parse."""
    from jinja2 import Environment, nodes

    tree = Environment().parse(source)
    for name in _FORBIDDEN_NODES:
        found = next(iter(tree.find_all(getattr(nodes, name))), None)
        if found is not None:
            return (f"'{name.lower()}' is not allowed in a letter template (line "
                    f"{found.lineno}): a template is self-contained data")

    def depth(node: Any) -> int:
        inner = max((depth(child) for child in node.iter_child_nodes()), default=0)
        return inner + (1 if isinstance(node, (nodes.For, nodes.Macro)) else 0)

    if depth(tree) > MAX_LOOP_NESTING:
        return (f"loops nested more than {MAX_LOOP_NESTING} deep are not allowed in a letter "
                f"template")
    return None


def _isolate(value: Any) -> Any:
    """Wrap a left-to-right value (a Latin name, a deliverable) in an isolate.

    Values with right-to-left letters, numbers and bare punctuation (the bidi algorithm
    places them well in right-to-left text), and values already isolated are left as
    they are.
    """
    text = "" if value is None else str(value)
    classes = {unicodedata.bidirectional(ch) for ch in text}
    if FSI in text or classes & {"R", "AL"} or "L" not in classes:
        return text
    return f"{FSI}{text}{PDI}"


_COMPILED: dict[tuple[str, Lang], Any] = {}


def _compile(kb: KnowledgeBase, letter: LetterTemplate, lang: str) -> Any:
    from jinja2 import TemplateSyntaxError

    origin = letter.origins[lang]
    key = (letter.templates[lang], for_kb(kb, lang))
    if key in _COMPILED:
        return _COMPILED[key]
    try:
        problem = check_template(letter.templates[lang])
        if problem:
            raise KBError(f"letter template '{letter.channel}' ({lang}): {problem}", origin)
        _COMPILED[key] = _environment(key[1]).from_string(letter.templates[lang])
        return _COMPILED[key]
    except TemplateSyntaxError as exc:
        line = origin.line + (exc.lineno or 0) if origin.line is not None else None
        raise KBError(f"letter template '{letter.channel}' ({lang}): {exc.message}",
                      Source(origin.path, line, origin.field)) from None


def letter_context(a: Assessment, lang: str = "en", channel: str = "email",
                   sender: str | None = None) -> dict[str, Any]:
    """The data a letter template sees, built from the assessment alone.

    ``<subject key>`` (e.g. ``client``), ``as_of``, ``decision``, ``lang``, ``channel``,
    ``notify_on``, ``end_on``, ``days`` (between the two), ``steps`` (plan step id -> list
    of ``{date, subject, title, guidance}``), ``case`` (the case as written),
    ``params`` (the effective parameters), ``sender`` (the signature, or None),
    ``signals`` (the case's red flags, by name), and from the letter's ``situations`` the
    first one those signals call for: ``situation`` (its id) and ``texts`` (its texts in
    ``lang``, by part; empty when the letter has no situations).
    Dates are written for the reader of ``lang`` (month names; the Solar Hijri date with
    the Gregorian one in Persian); ``as_of_iso``, ``notify_on_iso``, ``end_on_iso`` and
    each step's ``date_iso`` keep the ISO form.
    """
    lx = for_kb(a.kb, lang)
    if a.plan is None:
        raise QueryError(f"no exit plan: the decision is '{a.decision}'")
    signals = {f.id for f in a.signals}
    situation = _situation(load_letters(a.kb).channels.get(channel), signals)
    steps: dict[str, list[dict[str, Any]]] = {}
    for item in plan_items(a, lang):
        if not item.milestone:
            steps.setdefault(item.id, []).append(
                {"date": lx.date(item.date), "date_iso": item.date.isoformat(),
                 "subject": item.subject, "title": item.title,
                 "guidance": list(item.guidance)})
    return {
        a.kb.outputs["subject"]["key"]: a.client,
        "as_of": lx.date(a.case.as_of),
        "as_of_iso": a.case.as_of.isoformat(),
        "decision": a.decision,
        "lang": lang,
        "channel": channel,
        "notify_on": lx.date(a.plan.notify_on) if a.plan.notify_on else None,
        "end_on": lx.date(a.plan.end_on) if a.plan.end_on else None,
        "notify_on_iso": a.plan.notify_on.isoformat() if a.plan.notify_on else None,
        "end_on_iso": a.plan.end_on.isoformat() if a.plan.end_on else None,
        "days": span_days(a),
        "steps": steps,
        # a plain deep copy: the template sees the case as written, and cannot change it
        "case": json.loads(json.dumps(dict(a.case.data), default=str)),
        "params": dict(sorted(a.trace.params.items())),
        "sender": sender,
        "signals": sorted(signals),
        "situation": situation.id if situation else None,
        "texts": {part: a.kb.text(texts, lang) for part, texts in situation.texts.items()}
        if situation else {},
    }


def render_letter(a: Assessment, lang: str = "en", channel: str = "email",
                  sender: str | None = None) -> str:
    """Draft the exit message of ``a`` for ``channel`` in ``lang``.

    Raises :class:`QueryError` for an unknown channel or language, or when the decision
    carries no plan; :class:`KBError` when the template fails.
    """
    from jinja2 import TemplateError

    letters = load_letters(a.kb)
    letter = letters.channels.get(channel)
    if letter is None:
        known = list(letters.channels)
        raise QueryError(f"no letter template for channel '{channel}'"
                         f"{did_you_mean(channel, known) or ' (one of ' + ', '.join(known) + ')'}")
    if lang not in letter.templates:
        raise QueryError(f"letter '{channel}' has no template in '{lang}' "
                         f"(one of {', '.join(sorted(letter.templates))})")
    template = _compile(a.kb, letter, lang)
    context = letter_context(a, lang, channel, sender)
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limits.MAX_TEMPLATE_OUTPUT:
                raise KBError(f"letter template '{channel}' ({lang}) failed: the message is "
                              f"longer than {limits.MAX_TEMPLATE_OUTPUT} characters",
                              letter.origins[lang])
            parts.append(chunk)
    except (TemplateError, RecursionError, ArithmeticError, TypeError, ValueError,
            LookupError) as exc:
        if isinstance(exc, KBError):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KBError(f"letter template '{channel}' ({lang}) failed: {message}",
                      letter.origins[lang]) from None
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


# Invisible marks, tatweel and short vowels do not change a word; Arabic and Persian
# forms of the same letter are the same letter for matching.
_IGNORED = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, 0x0640, 0x2068, 0x2069,
                          *range(0x064B, 0x0653), 0x0670])
_FOLDED = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "أ": "ا", "إ": "ا", "آ": "ا"})


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_IGNORED).translate(_FOLDED).casefold()


def forbidden_words(kb: KnowledgeBase, lang: str) -> tuple[str, ...]:
    """The words the KB forbids in a message in ``lang`` (grievance vocabulary)."""
    wl = load_letters(kb).forbidden.get(lang)
    return wl.words if wl else ()


def find_forbidden(kb: KnowledgeBase, lang: str, text: str) -> list[str]:
    """The forbidden words of ``lang`` that occur in ``text``, sorted."""
    wl = load_letters(kb).forbidden.get(lang)
    if wl is None:
        return []
    haystack = _normal(text)
    found = []
    for word in wl.words:
        needle = r"\s+".join(re.escape(part) for part in _normal(word).split())
        pattern = rf"(?<!\w){needle}(?!\w)" if wl.match == "word" else needle
        if re.search(pattern, haystack):
            found.append(word)
    return sorted(found)

"""Safe YAML (and JSON) loading that remembers where every value came from.

Dates are kept as strings (validation decides what a date is), duplicate keys are
errors, and absurd inputs are refused before they are parsed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, cast

import yaml

from . import limits
from .errors import PartwaysError, Source

MAX_BYTES = limits.MAX_BYTES
MAX_DEPTH = limits.MAX_DEPTH

Path = tuple[Any, ...]


# libyaml's parser when PyYAML was built with it (the wheels are): same nodes and marks,
# several times faster on the knowledge base's files.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """A safe loader without implicit timestamps: ``2026-11-01`` stays a string.

    The composer (libyaml's, in C) asks the loader for every node's tag: a plain scalar's
    tag depends on its text alone, so it is looked up once per distinct short text (the
    same answer as the resolver's, which the first lookup asks); a quoted scalar is a
    string. There are no path resolvers (a safe loader has none), so the composer's
    descend/ascend hooks are no-ops: C callables that take the same arguments and do
    nothing with them, instead of Python calls that return at once.
    """

    descend_resolver = slice  # (parent, index) -> an ignored slice object
    ascend_resolver = tuple  # () -> an ignored empty tuple

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return str(_resolve(self, kind, value, implicit))
        if not implicit[0]:
            return _STR
        return plain_tag(value)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_resolve = yaml.resolver.BaseResolver.resolve  # what every safe loader's resolve is
_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's text -> its resolved tag


def plain_tag(text: str) -> str:
    """The tag the safe loader resolves a plain scalar ``text`` to (looked up once per
    distinct short text: a plain scalar's tag depends on its text alone)."""
    tag = _PLAIN_TAGS.get(text)
    if tag is None:
        # the resolver reads only class attributes: the implicit resolvers, no paths
        tag = str(_resolve(cast(Any, _Loader), yaml.ScalarNode, text, (True, False)))
        if len(text) <= 64 and len(_PLAIN_TAGS) < 10_000:
            _PLAIN_TAGS[text] = tag
    return tag


@dataclass
class Document:
    """A parsed document: plain data plus the line of every path in it."""

    data: Any
    path: str | None
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """Line of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get(())

    def source(self, path: Path) -> Source:
        return Source(self.path, self.line(path), format_path(path) or None)


def format_path(path: Path) -> str:
    """``('events', 2, 'date')`` -> ``events[2].date``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_text(
    text: str, path: str | None, error: type[PartwaysError] = PartwaysError
) -> Document:
    """Parse YAML or JSON ``text``; raise ``error`` with file and line on any problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise error(
            f"input is larger than the {MAX_BYTES // 1_000_000} MB limit", Source(path)
        )
    if "\t" in text and text.lstrip().startswith(("{", "[")):
        # JSON may indent with tabs; YAML may not. Tabs outside strings are whitespace.
        text = _detab_json(text)
    fast = _yamlfast.parse(text)
    if fast is not None:
        return Document(fast[0], path, fast[1])
    return load_with_libyaml(text, path, error)


def load_with_libyaml(text: str, path: str | None,
                      error: type[PartwaysError] = PartwaysError) -> Document:
    """:func:`load_text` by libyaml alone (every document; the one that words errors)."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise error(f"malformed YAML/JSON: {problem}", Source(path, line)) from None
    except yaml.reader.ReaderError as exc:
        # a character YAML does not allow (a control character, ...): locate it
        line = text[: max(exc.position, 0)].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise error(f"malformed YAML/JSON: character U+{code:04X} is not allowed in YAML "
                    f"(write it as an escape in a double-quoted string)",
                    Source(path, line)) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "malformed YAML"
        raise error(f"malformed YAML/JSON: {first}", Source(path)) from None
    doc = Document(None, path)
    if node is None:
        raise error("the document is empty", Source(path, 1))
    doc.data = _Builder(doc, error).construct(node, (), 0)
    return doc


def load_file(path: str, error: type[PartwaysError] = PartwaysError) -> Document:
    """Read and parse a file (``-`` is not handled here; pass text to load_text)."""
    try:
        with open(path, "rb") as fh:
            # a regular file's size is known: reading just that much (not MAX_BYTES + 1)
            # spares allocating 2 MB per file; a pipe or a device reports 0
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(size + 1 if 0 < size <= MAX_BYTES else MAX_BYTES + 1)
            if 0 < size <= MAX_BYTES and len(raw) > size:
                raw += fh.read(MAX_BYTES + 1 - len(raw))  # it grew while being read
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror}", Source(path)) from None
    if len(raw) > MAX_BYTES:
        raise error(f"file is larger than the {MAX_BYTES // 1_000_000} MB limit", Source(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"file is not UTF-8 text (byte {exc.start})", Source(path)) from None
    return load_text(text, path, error)


class _Builder:
    """Turns composed YAML nodes into plain data within :mod:`partways.limits`.

    PyYAML composes an alias as the very node its anchor names, so a document of nested
    aliases is small as nodes but explodes when turned into data: every node is counted
    as often as it is reached, and reaching a node a second time (an alias) is counted
    against :data:`~partways.limits.MAX_ALIASES`.
    """

    def __init__(self, doc: Document, error: type[PartwaysError]) -> None:
        self.doc = doc
        self.error = error
        self.seen: set[int] = set()
        self.aliases = 0
        self.nodes = 0

    def construct(self, node: yaml.Node, path: Path, depth: int) -> Any:
        doc, error = self.doc, self.error
        line = node.start_mark.line + 1
        lines = doc.lines
        if path not in lines:
            lines[path] = line
        if depth > MAX_DEPTH:
            raise error(f"nesting deeper than {MAX_DEPTH} levels", doc.source(path))
        self.nodes += 1
        if self.nodes > limits.MAX_NODES:
            raise error(f"more than {limits.MAX_NODES} values in one document",
                        doc.source(path))
        seen = self.seen
        if id(node) in seen:
            self.aliases += 1
            if self.aliases > limits.MAX_ALIASES:
                # the alias has no line of its own: name the key that holds it
                keyed = max((i for i, p in enumerate(path) if isinstance(p, str)), default=-1)
                raise error(f"more than {limits.MAX_ALIASES} YAML aliases (*name) in one "
                            f"document", doc.source(path[: keyed + 1]))
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node, doc, error, path)
        if node.tag not in _COLLECTIONS:
            raise error(f"unsupported YAML tag {node.tag!r} (only plain mappings and lists)",
                        Source(doc.path, line))
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            scalar, text_tag, longest = yaml.ScalarNode, _STR, limits.MAX_STRING
            for key_node, value_node in node.value:
                key_tag = key_node.tag
                if key_tag == text_tag and type(key_node) is scalar \
                        and len(key_node.value) <= longest:
                    key = key_node.value  # a text key: what _scalar gives, without a call
                else:
                    if key_tag == "tag:yaml.org,2002:merge":
                        raise error("YAML merge keys ('<<') are not supported",
                                    Source(doc.path, line))
                    key = _scalar(key_node, doc, error)
                    if not isinstance(key, str):
                        key = str(key).lower() if isinstance(key, bool) else str(key)
                key_line = key_node.start_mark.line + 1
                child = (*path, key)
                if key in out:
                    raise error(
                        f"duplicate key '{key}' (first at line {lines[child]})",
                        Source(doc.path, key_line, format_path(child)),
                    )
                lines[child] = key_line
                if type(value_node) is scalar and depth < MAX_DEPTH \
                        and self.nodes < limits.MAX_NODES and id(value_node) not in seen:
                    # a plain value within every limit: what construct() would do, inline
                    self.nodes += 1
                    seen.add(id(value_node))
                    text = value_node.value
                    out[key] = text if value_node.tag == text_tag and len(text) <= longest \
                        else _scalar(value_node, doc, error, child)
                else:
                    out[key] = self.construct(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.construct(item, (*path, i), depth + 1)
                    for i, item in enumerate(node.value)]
        return _scalar(node, doc, error, path)


def _scalar(node: yaml.Node, doc: Document, error: type[PartwaysError],
            path: Path | None = None) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise error("a key must be a plain scalar", Source(doc.path, node.start_mark.line + 1))
    text = node.value
    if len(text) > limits.MAX_STRING:
        raise error(f"text longer than the {limits.MAX_STRING}-character limit",
                    Source(doc.path, node.start_mark.line + 1,
                           format_path(path) if path else None))
    tag = node.tag
    if tag == _STR:
        return text  # what the safe constructor gives a string, and no number to check
    try:
        return scalar_value(tag, text)
    except ValueError as exc:
        raise error(str(exc), Source(doc.path, node.start_mark.line + 1,
                                     format_path(path) if path else None)) from None


def scalar_value(tag: str, text: str) -> Any:
    """The value of a scalar of ``tag`` other than text (a number, true/false or null),
    within :mod:`partways.limits`; ``ValueError`` with the reason when it is refused."""
    known = _VALUES.get((tag, text), _UNKNOWN)
    if known is not _UNKNOWN:
        return known
    try:
        value = _construct_scalar_value(yaml.ScalarNode(tag, text))
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"bad value: {str(exc).splitlines()[0]}") from None
    problem = limits.number_problem(value)
    if problem:
        raise ValueError(problem)
    if len(text) <= 64 and len(_VALUES) < 10_000:
        _VALUES[(tag, text)] = value  # immutable, and the same text always gives it
    return value


#: A plain scalar's (tag, text) -> its value, for the values that passed every check
#: (numbers, booleans, null: the same text always gives the same value).
_VALUES: dict[tuple[str, str], Any] = {}
_UNKNOWN: object = object()


def _construct_scalar_value(node: yaml.ScalarNode) -> Any:
    constructor = _SCALARS.get(node.tag)
    if constructor is None:
        if node.tag.startswith("tag:yaml.org,2002:"):
            raise ValueError(f"unsupported YAML type {node.tag.rsplit(':', 1)[-1]!r}")
        raise ValueError(f"unsupported YAML tag {node.tag!r}")
    return constructor(node)


_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_BASE = yaml.SafeLoader("")
_SCALARS = {
    "tag:yaml.org,2002:null": _BASE.construct_yaml_null,
    "tag:yaml.org,2002:bool": _BASE.construct_yaml_bool,
    "tag:yaml.org,2002:int": _BASE.construct_yaml_int,
    "tag:yaml.org,2002:float": _BASE.construct_yaml_float,
    "tag:yaml.org,2002:str": _BASE.construct_yaml_str,
}
_BASE.dispose()


def _detab_json(text: str) -> str:
    """Replace tabs outside JSON strings with spaces (keeps line numbers)."""
    out = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "\t":
            ch = " "
        out.append(ch)
    return "".join(out)


# the fast path reads this module's resolver and scalar values: imported once both exist
from . import _yamlfast  # noqa: E402

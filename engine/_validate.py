"""JSON Schema validation with one-line, located, suggestive error messages.

jsonschema (~60 ms to import) is imported when a validator is first made: a command that
loads a cached KB and a valid case (checked by the compiled schema) never needs it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._yaml import Document, format_path
from .errors import PartwaysError, did_you_mean

if TYPE_CHECKING:
    import jsonschema
    from jsonschema import Draft202012Validator


@cache
def kb_schema() -> dict[str, Any]:
    """The schema of KB files shipped with the engine."""
    text = (Path(__file__).parent / "schemas" / "kb.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _kb_validator(definition: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = dict(kb_schema())
    schema["$ref"] = f"#/$defs/{definition}"
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate_kb_file(doc: Document, definition: str, error: type[PartwaysError]) -> None:
    """Validate a KB document against ``#/$defs/<definition>``; raise the first problem."""
    validate(doc, _kb_validator(definition), error)


def validate(doc: Document, validator: Draft202012Validator,
             error: type[PartwaysError]) -> None:
    """Raise ``error`` for the most relevant schema violation of ``doc``, if any."""
    errors = list(validator.iter_errors(doc.data))
    if not errors:
        return

    def line(e: jsonschema.ValidationError) -> int:
        return doc.line(tuple(e.absolute_path)) or 0

    # The earliest line first (what a reader fixes first); there, the most telling kind
    # (an unknown key, with its suggestion, before the required key it was probably meant
    # to be), the deepest path first.
    first = min(line(e) for e in errors)
    best = min((e for e in errors if line(e) == first),
               key=lambda e: (_rank(e), -len(e.absolute_path)))
    if best.context:  # oneOf/anyOf: descend to the branch that came closest
        from jsonschema.exceptions import best_match

        best = best_match([best])
    path, message = describe(best)
    raise error(message, doc.source(path))


def all_problems(doc: Document, validator: Draft202012Validator,
                 error: type[PartwaysError]) -> list[PartwaysError]:
    """Every schema violation of ``doc``, one per located field, in line order (the
    collect mode of :func:`validate`)."""
    from jsonschema.exceptions import best_match

    found: dict[tuple[int, str], tuple[tuple[int, int], PartwaysError]] = {}
    for e in validator.iter_errors(doc.data):
        best = best_match([e]) if e.context else e
        path, message = describe(best)
        src = doc.source(path)
        key = (src.line or 0, src.field or "")
        rank = (_rank(best), -len(best.absolute_path))
        if key not in found or rank < found[key][0]:
            found[key] = (rank, error(message, src))
    return [err for _k, (_r, err) in sorted(found.items())]


def _rank(err: jsonschema.ValidationError) -> int:
    order = ["additionalProperties", "enum", "const", "required", "type", "format"]
    return order.index(err.validator) if err.validator in order else len(order)


def describe(err: jsonschema.ValidationError) -> tuple[tuple[Any, ...], str]:
    """A path and a plain-language message for one schema violation."""
    path = tuple(err.absolute_path)
    where = format_path(path)
    kind = err.validator
    if kind == "additionalProperties":
        allowed = sorted((err.schema.get("properties") or {}).keys()) if isinstance(
            err.schema, dict) else []
        patterns = list((err.schema.get("patternProperties") or {}).keys()) if isinstance(
            err.schema, dict) else []
        extra = sorted(k for k in err.instance if k not in allowed and not any(
            re.search(p, k) for p in patterns)) if isinstance(err.instance, dict) else []
        if extra:
            key = extra[0]
            hint = did_you_mean(key, allowed) or (
                f" (allowed: {', '.join(allowed)})" if allowed else "")
            return (*path, key), f"unknown key '{key}'{hint}"
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return path, f"needs a '{missing}'" if where else f"the document needs a '{missing}'"
    if kind == "enum":
        allowed_values: Any = err.validator_value
        options = [str(o) for o in allowed_values]
        return path, (f"'{err.instance}' is not one of {', '.join(options)}"
                      f"{did_you_mean(str(err.instance), options)}")
    if kind == "const":
        return path, f"must be {err.validator_value!r}"
    if kind == "type":
        raw: Any = err.validator_value
        expected = " or ".join(raw) if isinstance(raw, list) else str(raw)
        got = _type_name(err.instance)
        return path, f"must be {_article(expected)}, not {got} ({_short(err.instance)})"
    if kind == "format":
        return path, f"'{err.instance}' is not a valid {err.validator_value} (YYYY-MM-DD)" \
            if err.validator_value == "date" else f"'{err.instance}' is not a valid " \
            f"{err.validator_value}"
    if kind in ("minimum", "exclusiveMinimum"):
        return path, f"must be >= {err.validator_value}, got {err.instance}" \
            if kind == "minimum" else f"must be > {err.validator_value}, got {err.instance}"
    if kind == "maximum":
        return path, f"must be <= {err.validator_value}, got {err.instance}"
    if kind == "maxItems":
        return path, f"too many items: at most {err.validator_value} allowed"
    if kind == "minItems":
        return path, f"needs at least {err.validator_value} item(s)"
    if kind == "maxLength":
        return path, f"text longer than the {err.validator_value}-character limit"
    if kind == "pattern" and isinstance(err.schema, dict) and err.schema.get("format") == "date":
        return path, f"'{err.instance}' is not a valid date (YYYY-MM-DD)"
    if kind == "pattern":
        return path, f"'{err.instance}' does not have the required form"
    return path, err.message


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _article(word: str) -> str:
    names = {"object": "a mapping", "array": "a list", "integer": "an integer",
             "number": "a number", "string": "a string", "boolean": "true or false",
             "null": "null"}
    return " or ".join(names.get(w.strip(), w) for w in word.split(" or "))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."

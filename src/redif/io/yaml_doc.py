"""One safe reader of untrusted YAML and JSON documents (case files, import files, study tables).

Every document from outside the program (a case pasted into the web form, a case file given to the
CLI, a bulk-import file) is read with :func:`load_document`, which

* checks the size **before** parsing (``max_bytes``, counted in UTF-8 bytes),
* refuses bytes that are not UTF-8 (naming the byte offset),
* refuses YAML aliases (``*name``): an alias lets a few hundred bytes expand to millions of nodes
  (the "billion laughs" attack; a 383-byte, 7-level bomb took 28 s and 558 MB to reject), and no redif
  document needs them,
* refuses nesting deeper than ``max_depth`` (YAML and JSON alike; deep nesting exhausts the parser's
  recursion), and
* keeps YAML dates as text by default, so that the schema reports a bad date with its field path.

Every refusal is an :class:`redif.errors.InputError` naming ``field``: a user never sees a parser
traceback.

References
----------
OWASP, "XML External Entity Prevention / Billion laughs" (the same attack through YAML anchors);
PyYAML issue #37 (aliases are expanded by consumers that walk the loaded object).
"""

from __future__ import annotations

import json as _json
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import Node

from redif.errors import InputError

__all__ = ["DEFAULT_MAX_DEPTH", "MAX_CASE_BYTES", "MAX_FILE_BYTES", "decode_text", "load_document"]

#: Deepest nesting of mappings/lists accepted (a case file needs about 6).
DEFAULT_MAX_DEPTH = 64
#: Largest case document (the web form allows 200 000 characters; 4 bytes per character at most is
#: 800 000 bytes).
MAX_CASE_BYTES = 1_000_000
#: Largest input file read by the CLI (import files, case files, study tables, plans).
MAX_FILE_BYTES = 50_000_000


class _SafeDocumentLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` without aliases, without implicit timestamps and with a depth limit."""

    max_depth = DEFAULT_MAX_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            raise _Refused(
                "YAML aliases (*name) are not accepted",
                event.start_mark,
                "write the value out in full instead of referring to an anchor (&name)",
            )
        nests = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        if nests:
            self._depth += 1
            if self._depth > self.max_depth:
                raise _Refused(
                    f"nested deeper than {self.max_depth} levels",
                    event.start_mark,
                    "flatten the document",
                )
        try:
            return Composer.compose_node(self, parent, index)  # type: ignore[no-any-return]
        finally:
            if nests:
                self._depth -= 1


class _SafeDocumentLoaderTextDates(_SafeDocumentLoader):
    """:class:`_SafeDocumentLoader` that keeps dates as text."""


_SafeDocumentLoaderTextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    """Raised inside the loader; turned into an :class:`InputError` by :func:`load_document`."""

    def __init__(self, message: str, mark: Any, remedy: str) -> None:
        super().__init__(message)
        self.message, self.mark, self.remedy = message, mark, remedy


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def decode_text(data: str | bytes, *, field: str, max_bytes: int) -> str:
    """Text of an untrusted document: size checked first (UTF-8 bytes), strict UTF-8, BOM dropped.

    Raises
    ------
    InputError
        When the document is larger than ``max_bytes`` or not UTF-8 (naming the byte offset).
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputError(
            f"document larger than {max_bytes} bytes",
            field=field,
            value=size,
            remedy="split the document or shorten it",
        )
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 text (bad byte at offset {exc.start})",
                field=field,
                remedy="save the file as UTF-8",
            ) from None
    return text.removeprefix("\ufeff")


def _json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a decoded JSON value (iterative; stops once ``limit`` is exceeded)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def load_document(
    data: str | bytes,
    *,
    field: str,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    json: bool = False,
    dates_as_text: bool = True,
) -> Any:
    """Parse an untrusted YAML (or, with ``json=True``, strict JSON) document.

    Parameters
    ----------
    data
        The document, as text or as bytes (which must be UTF-8; a byte-order mark is dropped).
    field
        What the document is (a form field or a file name): named in every error.
    max_bytes
        Largest accepted size in UTF-8 bytes, checked before parsing.
    max_depth
        Deepest accepted nesting of mappings and lists.
    json
        Parse as JSON (the standard library parser) instead of YAML. JSON has no aliases; its depth is
        limited all the same.
    dates_as_text
        Keep YAML dates (``2024-01-31``) as strings (the default: the schema then reports a bad date
        with its field path); ``False`` gives :class:`datetime.date` values as ``yaml.safe_load`` does.

    Returns
    -------
    Any
        The decoded value.

    Raises
    ------
    InputError
        When the document is too large, not UTF-8, not valid YAML/JSON, uses an alias, or is nested
        deeper than ``max_depth``.
    """
    text = decode_text(data, field=field, max_bytes=max_bytes)
    too_deep = InputError(
        f"nested deeper than {max_depth} levels", field=field, remedy="flatten the document"
    )
    if json:
        try:
            value = _json.loads(text)
        except RecursionError:
            raise too_deep from None
        except _json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON (line {exc.lineno}, column {exc.colno})",
                field=field,
                remedy="fix the JSON syntax",
            ) from None
        if _json_depth(value, max_depth) > max_depth:
            raise too_deep
        return value
    loader = (_SafeDocumentLoaderTextDates if dates_as_text else _SafeDocumentLoader)(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise InputError(exc.message + _where(exc.mark), field=field, remedy=exc.remedy) from None
    except RecursionError:
        raise too_deep from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"not valid YAML/JSON{_where(mark)}",
            field=field,
            remedy="fix the syntax (indentation, quotes, colons)",
        ) from None
    finally:
        loader.dispose()

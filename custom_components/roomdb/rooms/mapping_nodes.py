"""Reading PyYAML's node tree for the mapping validator: tags, lines, descriptions (pure Python).

The document is walked as a node tree (``yaml.compose``) rather than loaded, so duplicate keys
(which a plain loader silently overwrites) are reported and every value keeps its line number.
PyYAML's C parser is used where it is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
import difflib
from typing import Any, Final

import yaml  # type: ignore[import-untyped]

from .mapping_errors import ErrorCode, MappingError

MAX_YAML_DEPTH: Final = 32
"""A valid mapping nests 4 deep (rooms, room, capabilities); anything far deeper is not one."""

LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENING_EVENTS: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING_EVENTS: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)

_TAG_PREFIX: Final = "tag:yaml.org,2002:"
STR_TAG: Final = _TAG_PREFIX + "str"
NULL_TAG: Final = _TAG_PREFIX + "null"
MERGE_TAG: Final = _TAG_PREFIX + "merge"
_TAG_DESCRIPTIONS: Final = {
    _TAG_PREFIX + "int": "a number",
    _TAG_PREFIX + "float": "a number",
    _TAG_PREFIX + "bool": "a boolean",
    NULL_TAG: "empty",
    _TAG_PREFIX + "timestamp": "a date",
    _TAG_PREFIX + "binary": "binary data",
    STR_TAG: "a string",
}

# PyYAML ships no type information; nodes are handled as ``Any`` behind these helpers.
type Node = Any


def too_deep(text: str) -> MappingError | None:
    """Stream the parser's events (no tree, no recursion) and stop at the first nesting too deep.

    Composing a deeply nested document recurses once per level, in C: far too deep and it
    overflows a thread's stack, merely deep and it takes seconds.
    """
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, _OPENING_EVENTS):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return MappingError(
                    None,
                    line_of(event),
                    f"invalid YAML: nested deeper than {MAX_YAML_DEPTH} levels",
                    "",
                    ErrorCode.YAML_SYNTAX,
                )
        elif isinstance(event, _CLOSING_EVENTS):
            depth -= 1
    return None


def line_of(node: Node) -> int | None:
    """The 1-based line a node starts on, if the parser recorded one."""
    mark = getattr(node, "start_mark", None)
    return None if mark is None else int(mark.line) + 1


def is_mapping(node: Node) -> bool:
    """Whether the node is a YAML mapping."""
    return isinstance(node, yaml.MappingNode)


def string_value(node: Node) -> str | None:
    """The value of a plain or quoted string scalar, else None."""
    if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
        return str(node.value)
    return None


def is_null(node: Node) -> bool:
    """Whether the node is an empty value (``null``, ``~`` or nothing)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def describe(node: Node) -> str:
    """What the node is, for messages: ``a list``, ``a number``, …."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = str(getattr(node, "tag", ""))
    return _TAG_DESCRIPTIONS.get(tag, f"a value tagged {tag}")


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, empty if none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""

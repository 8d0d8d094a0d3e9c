"""Fuzz parse_mapping: whatever the text, it returns a result and never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import yaml  # type: ignore[import-untyped]

from custom_components.roomdb.rooms.mapping import KNOWN_DOMAINS
from custom_components.roomdb.rooms.mapping_errors import MappingError, MappingResult
from custom_components.roomdb.rooms.mapping_parse import parse_mapping
from custom_components.roomdb.rooms.mapping_render import render_mapping

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from([*KNOWN_DOMAINS, "3.1", "name", "rooms", "segment_id", "kitchen", "Bad-Id"]),
)
_keys = st.one_of(
    st.sampled_from(["version", "rooms", "name", "area_id", "capabilities", "segment_id", "<<"]),
    st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True),
    st.text(max_size=8),
    st.integers(),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=25,
)

_fragments = st.sampled_from(
    [
        'version: "3.1"\n',
        "version: 3.1\n",
        "rooms:\n",
        "rooms: {}\n",
        "  kitchen:\n",
        "  kitchen: &k\n",
        "    <<: *k\n",
        "  <<: *k\n",
        "    name: Kitchen\n",
        "    capabilities: [motion_lighting, vacuum_control]\n",
        "    capabilities:\n",
        "      - ml\n",
        "      - 12\n",
        '    segment_id: "4"\n',
        "    segment_id: 4\n",
        "    area_id: kitchen\n",
        "? [a, b]\n: c\n",
        "- x\n",
        "---\n",
        "...\n",
        "!!binary |\n  ====\n",
        "!!timestamp nope\n",
        "!!int x\n",
        "x: !custom y\n",
        "[[[[[[[[\n",
        "{a: 1, a: 2}\n",
        "\t\n",
        '"unterminated\n',
        "&a [*a]\n",
        "%YAML 1.1\n",
    ]
)


def _check(result: MappingResult) -> None:
    assert isinstance(result, MappingResult)
    assert (result.mapping is None) == bool(result.errors)
    for error in result.errors:
        assert isinstance(error, MappingError)
        assert isinstance(error.message, str)
        assert error.message
        assert error.line is None or error.line >= 1
        str(error)
        error.as_dict()
    if result.mapping is not None:
        # A valid mapping renders to text that parses back to the same mapping.
        assert parse_mapping(render_mapping(result.mapping)).mapping == result.mapping


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check(parse_mapping(text))


@FUZZ
@given(st.lists(_fragments, max_size=15), st.sampled_from([None, set(), {"kitchen"}]))
def test_yamlish_fragments_never_raise(parts: list[str], known: set[str] | None) -> None:
    _check(parse_mapping("".join(parts), known))


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.one_of(st.just("3.1"), _scalars),
            "rooms": st.one_of(
                st.dictionaries(
                    st.one_of(st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True), _keys),
                    st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "name": _scalars,
                                "area_id": _scalars,
                                "capabilities": st.one_of(
                                    st.lists(st.sampled_from(KNOWN_DOMAINS), max_size=4),
                                    _values,
                                ),
                                "segment_id": _scalars,
                                "colour": _scalars,
                            },
                        ),
                        _values,
                    ),
                    max_size=4,
                ),
                _values,
            ),
            "extra": _values,
        },
    )
)
def test_structured_documents_never_raise(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    _check(parse_mapping(text, {"kitchen"}))


def test_pathological_inputs() -> None:
    for text in (
        "[" * 5000,
        "a:\n" + "".join(f"{' ' * (i + 1)}b:\n" for i in range(2000)),
        "&a [*a, *a]\n",
        "rooms: &r\n  x: *r\n",
        'version: "3.1"\nrooms: &r\n  <<: *r\n',
        "x: \ud800\n",
        "\x00",
        "a: " + "b" * 100_000,
    ):
        _check(parse_mapping(text))

"""Area mapping v3.1: parsing, validation errors with lines, matrix, diff, render, generate."""

from __future__ import annotations

from pathlib import Path
import textwrap

import pytest

from custom_components.roomdb.rooms.admission import (
    Denial,
    DenialReason,
    allowed_matrix,
    is_allowed,
)
from custom_components.roomdb.rooms.mapping import KNOWN_DOMAINS, AreaMapping, Room, empty_mapping
from custom_components.roomdb.rooms.mapping_diff import diff
from custom_components.roomdb.rooms.mapping_errors import ErrorCode, MappingError, MappingWarning
from custom_components.roomdb.rooms.mapping_parse import parse_mapping, read_mapping_file
from custom_components.roomdb.rooms.mapping_render import generate_from_areas, render_mapping

VALID = """\
version: "3.1"
rooms:
  kitchen:
    name: Kitchen
    area_id: kitchen
    capabilities: [motion_lighting, vacuum_control, activity]
    segment_id: "16"
  bedroom:
    name: Bedroom
    capabilities:
      - motion_lighting
      - ml
  hall:
    name: Hall
    capabilities: []
"""


ALL_DOMAINS = ("motion_lighting", "vacuum_control", "activity", "climate_schedule", "ml")
"""What a room that cannot be kept (or has no readable capabilities) loses."""


def errs(text: str, known: set[str] | None = None) -> list[tuple[str, str | None, int | None, str]]:
    """(code, room_id, line, key) of every error; asserts that errors mean no mapping."""
    result = parse_mapping(textwrap.dedent(text), known)
    assert (result.mapping is None) == bool(result.errors)
    assert result.ok == (result.mapping is not None)
    return [(e.code, e.room_id, e.line, e.key) for e in result.errors]


def warns(
    text: str, known: set[str] | None = None
) -> list[tuple[str, str | None, int | None, str, tuple[str, ...]]]:
    """(code, room_id, line, key, loses) of every warning; asserts the mapping was kept."""
    result = parse_mapping(textwrap.dedent(text), known)
    assert result.errors == ()
    assert result.mapping is not None
    return [(w.code, w.room_id, w.line, w.key, w.loses) for w in result.warnings]


def kept(text: str, known: set[str] | None = None) -> AreaMapping:
    mapping = parse_mapping(textwrap.dedent(text), known).mapping
    assert mapping is not None
    return mapping


def test_valid_mapping_parses() -> None:
    result = parse_mapping(VALID, {"kitchen"})
    assert result.errors == ()
    mapping = result.mapping
    assert mapping is not None
    assert mapping.version == "3.1"
    assert list(mapping.rooms) == ["kitchen", "bedroom", "hall"]
    assert mapping.rooms["kitchen"] == Room(
        room_id="kitchen",
        name="Kitchen",
        capabilities=("motion_lighting", "vacuum_control", "activity"),
        area_id="kitchen",
        segment_id="16",
    )
    assert mapping.rooms["bedroom"].capabilities == ("motion_lighting", "ml")
    assert mapping.rooms["bedroom"].area_id is None
    assert mapping.rooms["hall"].capabilities == ()


def test_mapping_is_read_only() -> None:
    mapping = parse_mapping(VALID).mapping
    assert mapping is not None
    with pytest.raises(TypeError):
        mapping.rooms["x"] = Room("x", "X")  # type: ignore[index]
    source = {"a": Room("a", "A")}
    frozen = AreaMapping(rooms=source)
    source["b"] = Room("b", "B")
    assert list(frozen.rooms) == ["a"]


def test_unknown_top_level_key_with_line_and_suggestion() -> None:
    text = """\
    version: "3.1"
    roms: {}
    rooms: {}
    """
    assert errs(text) == [("unknown_key", None, 2, "roms")]
    result = parse_mapping(textwrap.dedent(text))
    assert "did you mean 'rooms'" in result.errors[0].message


def test_unknown_room_key() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        capabilities: [motion_lighting]
        segmnt_id: "4"
    """
    assert warns(text) == [("unknown_key", "kitchen", 6, "segmnt_id", ())]
    message = parse_mapping(textwrap.dedent(text)).warnings[0].message
    assert "did you mean 'segment_id'" in message
    assert kept(text).rooms["kitchen"].capabilities == ("motion_lighting",)


def test_duplicate_room_ids_are_detected_with_both_lines() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        capabilities: [motion_lighting]
      kitchen:
        name: Kitchen again
        capabilities: [activity]
    """
    assert errs(text) == [("duplicate_room", "kitchen", 6, "kitchen")]
    assert "first on line 3" in parse_mapping(textwrap.dedent(text)).errors[0].message


def test_duplicate_room_body_is_validated_too() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        capabilities: [motion_lighting]
      kitchen:
        capabilities: [lights]
    """
    # The second body's own problems (no name, an unknown capability) are room warnings; the
    # duplicate makes the file ambiguous, which rejects it as a whole.
    assert errs(text) == [("duplicate_room", "kitchen", 6, "kitchen")]
    # A rejected file keeps no room, so it has no warnings.
    assert parse_mapping(textwrap.dedent(text)).warnings == ()


def test_duplicate_keys_inside_a_room_and_at_top_level() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        name: Cuisine
        capabilities: []
    version: "3.1"
    """
    assert errs(text) == [
        ("duplicate_key", "kitchen", 5, "name"),
        ("duplicate_key", None, 7, "version"),
    ]


def test_capabilities_must_be_a_list_of_strings() -> None:
    not_a_list = """\
    version: "3.1"
    rooms:
      a:
        name: A
        capabilities: motion_lighting
    """
    # An unreadable list keeps the room with no capabilities: it loses every domain.
    assert warns(not_a_list) == [("wrong_type", "a", 5, "capabilities", ALL_DOMAINS)]
    assert kept(not_a_list).rooms["a"].capabilities == ()
    bad_items = """\
    version: "3.1"
    rooms:
      b:
        name: B
        capabilities:
          - motion_lighting
          - 42
          - {x: 1}
    """
    assert warns(bad_items) == [
        ("wrong_type", "b", 7, "capabilities", ()),
        ("wrong_type", "b", 8, "capabilities", ()),
    ]
    assert kept(bad_items).rooms["b"].capabilities == ("motion_lighting",)


def test_unknown_and_duplicate_capabilities() -> None:
    text = """\
    version: "3.1"
    rooms:
      a:
        name: A
        capabilities: [motion_lighting, motion_lightning, ml, ml]
    """
    result = parse_mapping(textwrap.dedent(text))
    assert [(w.code, w.line, w.loses) for w in result.warnings] == [
        ("unknown_capability", 5, ("motion_lightning",)),
        ("duplicate_capability", 5, ()),
    ]
    assert "did you mean 'motion_lighting'" in result.warnings[0].message
    assert kept(text).rooms["a"].capabilities == ("motion_lighting", "ml")


def test_int_segment_id_is_a_warning_with_a_quote_hint() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        capabilities: [vacuum_control]
        segment_id: 16
    """
    assert warns(text) == [("wrong_type", "kitchen", 6, "segment_id", ("vacuum_control",))]
    message = parse_mapping(textwrap.dedent(text)).warnings[0].message
    assert 'segment_id: "16"' in message
    denial = is_allowed(kept(text), "vacuum_control", "kitchen")
    assert denial is not None
    assert denial.reason is DenialReason.SEGMENT_MISSING


def test_segment_id_other_wrong_types() -> None:
    text = """\
    version: "3.1"
    rooms:
      a:
        name: A
        capabilities: []
        segment_id: [1, 2]
      b:
        name: B
        capabilities: []
        segment_id: "  "
      c:
        name: C
        capabilities: []
        area_id: 12
    """
    assert warns(text) == [
        ("wrong_type", "a", 6, "segment_id", ()),
        ("wrong_type", "b", 10, "segment_id", ()),
        (
            "wrong_type",
            "c",
            14,
            "area_id",
            ("activity_sensors", "vacuum_clean_area", "ml_room_events"),
        ),
    ]
    assert [(r.segment_id, r.area_id) for r in kept(text).rooms.values()] == [(None, None)] * 3


def test_missing_and_bad_name() -> None:
    text = """\
    version: "3.1"
    rooms:
      a:
        capabilities: []
      b:
        name: ""
        capabilities: []
      c:
        name: 7
        capabilities: []
    """
    # A room without a usable name is named after its id; it loses nothing.
    assert warns(text) == [
        ("missing_field", "a", 3, "name", ()),
        ("wrong_type", "b", 6, "name", ()),
        ("wrong_type", "c", 9, "name", ()),
    ]
    assert [room.name for room in kept(text).rooms.values()] == ["a", "b", "c"]


def test_missing_capabilities_and_room_not_a_mapping() -> None:
    text = """\
    version: "3.1"
    rooms:
      a:
        name: A
      b:
      c: [motion_lighting]
    """
    # Missing capabilities keep the room with none; a room that is not a mapping is skipped.
    assert warns(text) == [
        ("missing_field", "a", 3, "capabilities", ALL_DOMAINS),
        ("wrong_type", "b", 5, "b", ALL_DOMAINS),
        ("wrong_type", "c", 6, "c", ALL_DOMAINS),
    ]
    assert list(kept(text).rooms) == ["a"]


@pytest.mark.parametrize(
    ("version_line", "hint"),
    [
        ("version: 3.1", 'quote it: version: "3.1"'),
        ('version: "3.0"', "unsupported version '3.0'"),
        ("version: [3.1]", "unsupported version 'a list'"),
    ],
)
def test_wrong_version(version_line: str, hint: str) -> None:
    text = f"rooms: {{}}\n{version_line}\n"
    result = parse_mapping(text)
    assert [(e.code, e.line, e.key) for e in result.errors] == [("wrong_version", 2, "version")]
    assert hint in result.errors[0].message


def test_missing_version_and_rooms() -> None:
    assert errs("rooms: {}\n") == [("missing_field", None, 1, "version")]
    assert errs('version: "3.1"\n') == [("missing_field", None, 1, "rooms")]
    assert errs('version: "3.1"\nrooms: [a]\n') == [("wrong_type", None, 2, "rooms")]
    assert errs('version: "3.1"\nrooms:\n') == [("wrong_type", None, 2, "rooms")]


@pytest.mark.parametrize("room_id", ["Kitchen", "living-room", "bad id", "é"])
def test_room_id_pattern(room_id: str) -> None:
    text = f'version: "3.1"\nrooms:\n  "{room_id}":\n    name: X\n    capabilities: []\n'
    # The room is skipped (no row may carry its id); the file stands.
    assert warns(text) == [("invalid_room_id", room_id, 3, room_id, ALL_DOMAINS)]
    assert kept(text).rooms == {}


def test_non_string_room_id_gets_a_quote_hint() -> None:
    text = 'version: "3.1"\nrooms:\n  101:\n    name: X\n    capabilities: []\n'
    result = parse_mapping(text)
    assert [(e.code, e.line, e.key) for e in result.errors] == [("invalid_room_id", 3, "101")]
    assert "quote it" in result.errors[0].message
    quoted = parse_mapping(text.replace("101:", '"101":'))
    assert quoted.mapping is not None
    assert "101" in quoted.mapping.rooms


def test_vacuum_control_needs_segment_id() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        capabilities: [motion_lighting, vacuum_control]
      hall:
        name: Hall
        capabilities: [vacuum_control]
        segment_id:
    """
    assert warns(text) == [
        ("segment_missing", "kitchen", 5, "segment_id", ("vacuum_control",)),
        ("segment_missing", "hall", 8, "segment_id", ("vacuum_control",)),
    ]
    mapping = kept(text)
    assert is_allowed(mapping, "motion_lighting", "kitchen") is None
    assert is_allowed(mapping, "vacuum_control", "kitchen") == Denial(
        "vacuum_control", "kitchen", DenialReason.SEGMENT_MISSING
    )


def test_unknown_area_id_only_checked_when_areas_given() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        area_id: kitchn
        capabilities: []
    """
    assert warns(text, {"kitchen", "hall"}) == [
        (
            "unknown_area",
            "kitchen",
            5,
            "area_id",
            ("activity_sensors", "vacuum_clean_area", "ml_room_events"),
        )
    ]
    assert warns(text, None) == []
    message = parse_mapping(textwrap.dedent(text), {"kitchen"}).warnings[0].message
    assert "did you mean 'kitchen'" in message
    assert kept(text, set()).rooms["kitchen"].area_id == "kitchn"
    # With names, an area is suggested by its id or, failing that, by its name.
    by_id = parse_mapping(textwrap.dedent(text), {"kitchen": "Cuisine"}).warnings[0].message
    assert "did you mean 'kitchen', named 'Cuisine'" in by_id
    by_name = parse_mapping(textwrap.dedent(text), {"room_7": "Kitchn"}).warnings[0].message
    assert "did you mean 'room_7', named 'Kitchn'" in by_name
    nothing = parse_mapping(textwrap.dedent(text), {"garage": "Garage"}).warnings[0].message
    assert "did you mean" not in nothing


def test_yaml_syntax_error_has_a_line() -> None:
    text = 'version: "3.1"\nrooms:\n  a: {name: A\n  b: x\n'
    (error,) = parse_mapping(text).errors
    assert error.code == ErrorCode.YAML_SYNTAX
    assert error.line is not None
    assert error.line >= 3


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_document"),
        ("# only a comment\n", "empty_document"),
        ("~\n", "empty_document"),
        ("- a\n- b\n", "wrong_type"),
        ("just text\n", "wrong_type"),
        ("a: 1\n---\nb: 2\n", "yaml_syntax"),
        ("a: !!python/object:os.system x\n", "unknown_key"),
        ("x: *undefined\n", "yaml_syntax"),
    ],
)
def test_whole_document_problems(text: str, code: str) -> None:
    result = parse_mapping(text)
    assert result.mapping is None
    assert code in [e.code for e in result.errors]


def test_merge_keys_are_honoured_and_explicit_keys_win() -> None:
    text = """\
    version: "3.1"
    rooms:
      kitchen: &base
        name: Kitchen
        capabilities: [motion_lighting, activity]
      pantry:
        <<: *base
        name: Pantry
    """
    result = parse_mapping(textwrap.dedent(text))
    assert result.errors == ()
    assert result.mapping is not None
    pantry = result.mapping.rooms["pantry"]
    assert pantry.name == "Pantry"
    assert pantry.capabilities == ("motion_lighting", "activity")


def test_bad_merge_source() -> None:
    text = 'version: "3.1"\nrooms:\n  a:\n    <<: [1]\n    name: A\n    capabilities: []\n'
    assert errs(text) == [("wrong_type", "a", 4, "<<")]


def test_error_str_and_dict() -> None:
    error = MappingError("kitchen", 7, "segment_id must be a string", "segment_id", "wrong_type")
    assert str(error) == "line 7, room 'kitchen': segment_id must be a string"
    assert str(MappingError(None, None, "empty", "")) == "empty"
    assert error.as_dict() == {
        "room_id": "kitchen",
        "line": 7,
        "key": "segment_id",
        "code": "wrong_type",
        "message": "segment_id must be a string",
    }
    warning = MappingWarning("k", 3, "no segment", "segment_id", "segment_missing", ("x",))
    assert str(warning) == "line 3, room 'k': no segment"
    assert warning.as_dict() == {
        "room_id": "k",
        "line": 3,
        "key": "segment_id",
        "code": "segment_missing",
        "message": "no segment",
        "loses": ["x"],
    }


def test_read_mapping_file(tmp_path: Path) -> None:
    missing = read_mapping_file(tmp_path / "nope.yaml")
    assert [e.code for e in missing.errors] == ["file_missing"]
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    assert read_mapping_file(good).ok
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert [e.code for e in read_mapping_file(binary).errors] == ["file_unreadable"]
    assert [e.code for e in read_mapping_file(tmp_path).errors] == ["file_unreadable"]


def test_only_a_file_that_may_become_readable_as_it_is_is_worth_reading_again(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    with good.open("rb"):
        held = read_mapping_file(good)
    assert [e.code for e in held.errors] == ["file_unreadable"]
    assert held.passing
    # Its content, or what the path is, must change first: the poll sees that change.
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert not read_mapping_file(binary).passing
    assert not read_mapping_file(tmp_path).passing
    assert not read_mapping_file(tmp_path / "nope.yaml").passing
    assert not read_mapping_file(good).passing


# ---------------------------------------------------------------------------- questions


def _mapping() -> AreaMapping:
    mapping = parse_mapping(VALID).mapping
    assert mapping is not None
    return mapping


def test_is_allowed_reasons() -> None:
    mapping = _mapping()
    assert is_allowed(mapping, "motion_lighting", "kitchen") is None
    assert is_allowed(mapping, "vacuum_control", "kitchen") is None
    assert is_allowed(mapping, "ml", "bedroom") is None
    assert is_allowed(mapping, "ml", "kitchen") == Denial(
        "ml", "kitchen", DenialReason.CAPABILITY_MISSING
    )
    assert is_allowed(mapping, "vacuum_control", "bedroom") == Denial(
        "vacuum_control", "bedroom", DenialReason.CAPABILITY_MISSING
    )
    assert is_allowed(mapping, "activity", "garage") == Denial(
        "activity", "garage", DenialReason.UNKNOWN_ROOM
    )
    assert is_allowed(mapping, "lights", "kitchen") == Denial(
        "lights", "kitchen", DenialReason.UNKNOWN_DOMAIN
    )
    # A mapping built in code (not parsed) can hold vacuum_control without a segment.
    handmade = AreaMapping(rooms={"x": Room("x", "X", ("vacuum_control",))})
    denial = is_allowed(handmade, "vacuum_control", "x")
    assert denial == Denial("vacuum_control", "x", DenialReason.SEGMENT_MISSING)
    assert denial.placeholders == {
        "room_id": "x",
        "domain": "vacuum_control",
        "reason": "segment_missing",
    }
    for reason in DenialReason:
        assert Denial("d", "r", reason).message


def test_empty_mapping_denies_everything() -> None:
    mapping = empty_mapping()
    assert mapping.rooms == {}
    assert allowed_matrix(mapping) == {domain: {} for domain in KNOWN_DOMAINS}
    assert is_allowed(mapping, "activity", "kitchen") == Denial(
        "activity", "kitchen", DenialReason.UNKNOWN_ROOM
    )


def test_allowed_matrix() -> None:
    matrix = allowed_matrix(_mapping())
    assert list(matrix) == list(KNOWN_DOMAINS)
    assert matrix == {
        "motion_lighting": {"kitchen": True, "bedroom": True, "hall": False},
        "vacuum_control": {"kitchen": True, "bedroom": False, "hall": False},
        "activity": {"kitchen": True, "bedroom": False, "hall": False},
        "climate_schedule": {"kitchen": False, "bedroom": False, "hall": False},
        "ml": {"kitchen": False, "bedroom": True, "hall": False},
    }


def test_diff() -> None:
    old = _mapping()
    new_text = """\
    version: "3.1"
    rooms:
      kitchen:
        name: Big kitchen
        area_id: kitchen
        capabilities: [motion_lighting, activity, ml]
      bedroom:
        name: Bedroom
        capabilities: [ml, motion_lighting]
      study:
        name: Study
        capabilities: [activity]
    """
    new = parse_mapping(textwrap.dedent(new_text)).mapping
    assert new is not None
    result = diff(old, new)
    assert result.added == ("study",)
    assert result.removed == ("hall",)
    # bedroom only reordered its capabilities: not a change
    assert [c.room_id for c in result.changed] == ["kitchen"]
    (kitchen,) = result.changed
    assert kitchen.capabilities_added == ("ml",)
    assert kitchen.capabilities_removed == ("vacuum_control",)
    assert kitchen.fields_changed == ("name", "segment_id")
    assert result.as_dict() == {
        "added": ["study"],
        "removed": ["hall"],
        "changed": [
            {
                "room_id": "kitchen",
                "capabilities_added": ["ml"],
                "capabilities_removed": ["vacuum_control"],
                "fields_changed": ["name", "segment_id"],
            }
        ],
    }
    assert not result.is_empty
    assert diff(old, old).is_empty
    assert diff(empty_mapping(), old).added == ("bedroom", "hall", "kitchen")


# ---------------------------------------------------------------------------- writing


def test_render_round_trip() -> None:
    mapping = _mapping()
    text = render_mapping(mapping)
    assert text.startswith("# RoomDB area mapping")
    again = parse_mapping(text, {"kitchen"})
    assert again.errors == ()
    assert again.mapping == mapping
    assert list(again.mapping.rooms) == list(mapping.rooms)


def test_render_round_trip_awkward_values() -> None:
    rooms = {
        "r1": Room("r1", "Küche: 'the' \"big\" # one", ("vacuum_control",), "yes", "0012"),
        "r2": Room("r2", "null", (), None, "1.5"),
        "r3": Room("r3", "- dash\nnewline", ("ml",), "true", "on"),
    }
    mapping = AreaMapping(rooms=rooms)
    assert parse_mapping(render_mapping(mapping)).mapping == mapping
    assert parse_mapping(render_mapping(empty_mapping())).mapping == empty_mapping()


def test_generate_from_areas_with_vacuum_segments() -> None:
    areas = [("kitchen", "Kitchen"), ("living_room", "Living room"), ("hall", "Hall")]
    generated = generate_from_areas(areas, {"kitchen": ["16", "17"], "hall": [], "gone": ["3"]})
    assert list(generated.rooms) == ["kitchen", "living_room", "hall"]
    kitchen = generated.rooms["kitchen"]
    assert kitchen == Room(
        "kitchen", "Kitchen", ("motion_lighting", "vacuum_control", "activity"), "kitchen", "16"
    )
    assert generated.rooms["living_room"] == Room(
        "living_room", "Living room", ("motion_lighting", "activity"), "living_room", None
    )
    assert generated.rooms["hall"].segment_id is None
    assert "vacuum_control" not in generated.rooms["hall"].capabilities
    # The generated file is valid against the same area registry and round-trips.
    text = render_mapping(generated)
    parsed = parse_mapping(text, {a for a, _ in areas})
    assert parsed.errors == ()
    assert parsed.mapping == generated
    assert is_allowed(generated, "vacuum_control", "kitchen") is None
    assert is_allowed(generated, "vacuum_control", "living_room") is not None


def test_generate_from_areas_int_segments_and_odd_area_ids() -> None:
    generated = generate_from_areas(
        [("Küche 1", "Küche"), ("kuche_1", "Other"), ("---", ""), ("ok", "  ")],
        {"Küche 1": [7]},
    )
    assert list(generated.rooms) == ["k_che_1", "kuche_1", "room", "ok"]
    assert generated.rooms["k_che_1"].area_id == "Küche 1"
    assert generated.rooms["k_che_1"].segment_id == "7"
    assert generated.rooms["room"].name == "---"
    assert generated.rooms["ok"].name == "ok"
    assert parse_mapping(render_mapping(generated)).mapping == generated
    assert generate_from_areas([]) == empty_mapping()


def test_generate_dedupes_room_ids() -> None:
    generated = generate_from_areas([("a b", "1"), ("a_b", "2"), ("a-b", "3")])
    # a valid area id keeps its own id; the others get free slugs
    assert list(generated.rooms) == ["a_b_2", "a_b", "a_b_3"]
    assert generated.rooms["a_b"].area_id == "a_b"


def test_nested_merges() -> None:
    text = """\
    version: "3.1"
    defaults: &defaults
      capabilities: [activity]
    rooms:
      kitchen: &kitchen
        <<: *defaults
        name: Kitchen
      pantry:
        <<: [*kitchen, {name: Ignored, segment_id: "3"}]
        name: Pantry
    """
    result = parse_mapping(textwrap.dedent(text))
    # "defaults" is not a top-level key of the format
    assert [(e.code, e.key) for e in result.errors] == [("unknown_key", "defaults")]
    inline = """\
    version: "3.1"
    rooms:
      kitchen: &kitchen
        <<: {capabilities: [activity]}
        name: Kitchen
      pantry:
        <<: [*kitchen, {name: Ignored, segment_id: "3"}]
        name: Pantry
    """
    parsed = parse_mapping(textwrap.dedent(inline))
    assert parsed.errors == ()
    assert parsed.mapping is not None
    assert parsed.mapping.rooms["pantry"] == Room("pantry", "Pantry", ("activity",), None, "3")


def test_very_long_merge_chain_is_an_error_not_a_crash() -> None:
    lines = ["anchors:", "  - &a0 {name: A, capabilities: []}"]
    lines += [f"  - &a{i} {{<<: *a{i - 1}}}" for i in range(1, 3000)]
    lines += ['version: "3.1"', "rooms:", "  r: {<<: *a2999}"]
    result = parse_mapping("\n".join(lines) + "\n")
    assert result.mapping is None
    assert sorted(e.code for e in result.errors) == ["unknown_key", "wrong_type"]


def test_too_many_rooms_stops_before_they_are_validated() -> None:
    rooms = "".join(f"  r{i}: {{name: R, capabilities: [nope]}}\n" for i in range(501))
    result = parse_mapping(f'version: "3.1"\nrooms:\n{rooms}')
    assert [e.code for e in result.errors] == ["too_many_rooms"]


def test_error_count_and_expansion_are_bounded() -> None:
    many_errors = "".join(f"  r{i}: {{name: R, name: S}}\n" for i in range(300))
    result = parse_mapping(f'version: "3.1"\nrooms:\n{many_errors}')
    assert len(result.errors) == 101
    assert result.errors[0].code == "too_complex"
    # Room problems are bounded too: 500 rooms with 3 unknown capabilities each is not a mapping.
    many_warnings = "".join(f"  r{i}: {{name: R, capabilities: [a, b, c]}}\n" for i in range(500))
    result = parse_mapping(f'version: "3.1"\nrooms:\n{many_warnings}')
    assert [e.code for e in result.errors] == ["too_complex"]
    assert result.warnings == ()
    # Every room merges one node with 3,000 keys: a 30 KiB file, a walk of 1.5 million keys.
    keys = "name: A, " * 3000
    merges = "".join(f"  r{i}: {{<<: *m}}\n" for i in range(500))
    text = f'shared: &m {{{keys}capabilities: []}}\nversion: "3.1"\nrooms:\n{merges}'
    result = parse_mapping(text)
    assert sorted(e.code for e in result.errors) == ["too_complex", "unknown_key"]


def test_yaml_nesting_is_bounded_before_composing() -> None:
    (error,) = parse_mapping("rooms: " + "[" * 33 + "]" * 33 + "\n").errors
    assert (error.code, error.line) == ("yaml_syntax", 1)
    assert "deeper than 32" in error.message
    assert parse_mapping("x: " + "[" * 31 + "]" * 31 + "\n").errors[0].code == "unknown_key"

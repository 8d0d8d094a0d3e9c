"""Admission control: allowed and refused pairs with their translation placeholders."""

from __future__ import annotations

import pytest

from custom_components.roomdb.rooms.admission import (
    ADMISSION_DENIED,
    AdmissionDeniedError,
    Denial,
    DenialReason,
    admit,
    plan_seed,
    require_admission,
)
from custom_components.roomdb.rooms.mapping import AreaMapping, Room, empty_mapping
from custom_components.roomdb.rooms.mapping_parse import parse_mapping

TEXT = """\
version: "3.1"
rooms:
  kitchen:
    name: Kitchen
    capabilities: [motion_lighting, vacuum_control, activity]
    segment_id: "16"
  bedroom:
    name: Bedroom
    capabilities: [motion_lighting, ml]
"""


@pytest.fixture
def mapping() -> AreaMapping:
    parsed = parse_mapping(TEXT).mapping
    assert parsed is not None
    return parsed


def test_admitted(mapping: AreaMapping) -> None:
    admission = admit(mapping, "vacuum_control", "kitchen")
    assert admission.ok
    assert admission.denial is None
    assert admission.translation_key is None
    assert admission.placeholders == {}
    require_admission(mapping, "vacuum_control", "kitchen")


@pytest.mark.parametrize(
    ("domain", "room_id", "reason"),
    [
        ("ml", "kitchen", "capability_missing"),  # ML in a room without ML
        ("vacuum_control", "bedroom", "capability_missing"),
        ("activity", "attic", "unknown_room"),
        ("lighting", "kitchen", "unknown_domain"),
    ],
)
def test_denied(mapping: AreaMapping, domain: str, room_id: str, reason: str) -> None:
    admission = admit(mapping, domain, room_id)
    assert not admission.ok
    assert admission.translation_key == ADMISSION_DENIED == "admission_denied"
    assert admission.placeholders == {"room_id": room_id, "domain": domain, "reason": reason}
    with pytest.raises(AdmissionDeniedError) as info:
        require_admission(mapping, domain, room_id)
    assert info.value.translation_key == "admission_denied"
    assert info.value.placeholders == admission.placeholders
    assert info.value.denial == admission.denial


def test_vacuum_without_segment_is_denied() -> None:
    handmade = AreaMapping(rooms={"hall": Room("hall", "Hall", ("vacuum_control",))})
    admission = admit(handmade, "vacuum_control", "hall")
    assert admission.denial == Denial("vacuum_control", "hall", DenialReason.SEGMENT_MISSING)
    assert admission.placeholders["reason"] == "segment_missing"


def test_empty_mapping_admits_nothing() -> None:
    assert not admit(empty_mapping(), "activity", "kitchen").ok


def test_plan_seed_all(mapping: AreaMapping) -> None:
    plan = plan_seed(mapping)
    assert plan.allowed == (
        ("motion_lighting", "kitchen"),
        ("motion_lighting", "bedroom"),
        ("vacuum_control", "kitchen"),
        ("activity", "kitchen"),
        ("ml", "bedroom"),
    )
    assert len(plan.allowed) + len(plan.skipped) == 5 * 2
    assert all(d.reason == DenialReason.CAPABILITY_MISSING for d in plan.skipped)


def test_plan_seed_filtered(mapping: AreaMapping) -> None:
    plan = plan_seed(mapping, domains=["ml", "ml", "nope"], rooms=["bedroom", "attic"])
    assert plan.allowed == (("ml", "bedroom"),)
    assert [(d.domain, d.room_id, d.reason.value) for d in plan.skipped] == [
        ("ml", "attic", "unknown_room"),
        ("nope", "bedroom", "unknown_domain"),
        ("nope", "attic", "unknown_domain"),
    ]

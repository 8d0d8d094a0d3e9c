"""Admission control: may room R hold domain D, the one check every write path makes (pure Python).

Services, ``bulk_update``, the activity and vacuum pipelines and seeding all call :func:`admit`
(or :func:`require_admission`); a refusal carries the ``admission_denied`` translation key and the
``{room_id, domain, reason}`` placeholders, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .mapping import KNOWN_DOMAINS, VACUUM_DOMAIN, AreaMapping

ADMISSION_DENIED: Final = "admission_denied"
"""Translation key (exceptions section) for a refused write."""


class DenialReason(StrEnum):
    """Why a (domain, room) pair is not allowed."""

    UNKNOWN_DOMAIN = "unknown_domain"
    UNKNOWN_ROOM = "unknown_room"
    CAPABILITY_MISSING = "capability_missing"
    SEGMENT_MISSING = "segment_missing"


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused (domain, room) pair with the placeholders for the ``admission_denied`` message."""

    domain: str
    room_id: str
    reason: DenialReason

    @property
    def placeholders(self) -> dict[str, str]:
        """Translation placeholders ``{room_id, domain, reason}``."""
        return {"room_id": self.room_id, "domain": self.domain, "reason": self.reason.value}

    @property
    def message(self) -> str:
        """An English explanation for logs."""
        match self.reason:
            case DenialReason.UNKNOWN_DOMAIN:
                return f"'{self.domain}' is not a known config domain"
            case DenialReason.UNKNOWN_ROOM:
                return f"room '{self.room_id}' is not in the area mapping"
            case DenialReason.CAPABILITY_MISSING:
                return f"room '{self.room_id}' does not have the '{self.domain}' capability"
            case DenialReason.SEGMENT_MISSING:
                return f"room '{self.room_id}' has no segment_id, which '{self.domain}' needs"


def is_allowed(mapping: AreaMapping, domain: str, room_id: str) -> Denial | None:
    """``None`` when ``room_id`` may hold ``domain``, else the reason it may not."""
    if domain not in KNOWN_DOMAINS:
        return Denial(domain, room_id, DenialReason.UNKNOWN_DOMAIN)
    room = mapping.rooms.get(room_id)
    if room is None:
        return Denial(domain, room_id, DenialReason.UNKNOWN_ROOM)
    if domain not in room.capabilities:
        return Denial(domain, room_id, DenialReason.CAPABILITY_MISSING)
    if domain == VACUUM_DOMAIN and not room.segment_id:
        return Denial(domain, room_id, DenialReason.SEGMENT_MISSING)
    return None


def allowed_matrix(mapping: AreaMapping) -> dict[str, dict[str, bool]]:
    """``{domain: {room_id: allowed}}`` for every known domain and every room."""
    return {
        domain: {room_id: is_allowed(mapping, domain, room_id) is None for room_id in mapping.rooms}
        for domain in KNOWN_DOMAINS
    }


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer for one (domain, room_id): ``ok``, or refused with ``denial``."""

    domain: str
    room_id: str
    denial: Denial | None = None

    @property
    def ok(self) -> bool:
        """True when the write may proceed."""
        return self.denial is None

    @property
    def translation_key(self) -> str | None:
        """``admission_denied`` when refused, else ``None``."""
        return None if self.denial is None else ADMISSION_DENIED

    @property
    def placeholders(self) -> dict[str, str]:
        """``{room_id, domain, reason}`` when refused, else empty."""
        return {} if self.denial is None else self.denial.placeholders


class AdmissionDeniedError(Exception):
    """Raised by :func:`require_admission`; the glue maps it to ``ServiceValidationError``."""

    translation_key: Final = ADMISSION_DENIED

    def __init__(self, denial: Denial) -> None:
        """Wrap ``denial``."""
        super().__init__(denial.message)
        self.denial = denial

    @property
    def placeholders(self) -> dict[str, str]:
        """``{room_id, domain, reason}``."""
        return self.denial.placeholders


def admit(mapping: AreaMapping, domain: str, room_id: str) -> Admission:
    """Decide whether ``room_id`` may hold a ``domain`` config under ``mapping``."""
    return Admission(domain, room_id, is_allowed(mapping, domain, room_id))


def require_admission(mapping: AreaMapping, domain: str, room_id: str) -> None:
    """Return when admitted; raise :class:`AdmissionDeniedError` otherwise."""
    denial = is_allowed(mapping, domain, room_id)
    if denial is not None:
        raise AdmissionDeniedError(denial)


@dataclass(frozen=True, slots=True)
class SeedPlan:
    """What ``seed_from_mapping`` may write: allowed pairs, and the refusals it skips."""

    allowed: tuple[tuple[str, str], ...]
    skipped: tuple[Denial, ...]


def plan_seed(
    mapping: AreaMapping,
    domains: Iterable[str] | None = None,
    rooms: Iterable[str] | None = None,
) -> SeedPlan:
    """Every (domain, room_id) pair to seed, split into admitted and refused.

    ``domains`` defaults to all known domains and ``rooms`` to every mapped room; explicitly named
    unknown domains or rooms show up in ``skipped`` with their reason.
    """
    domain_list = list(dict.fromkeys(KNOWN_DOMAINS if domains is None else domains))
    room_list = list(dict.fromkeys(mapping.rooms if rooms is None else rooms))
    allowed: list[tuple[str, str]] = []
    skipped: list[Denial] = []
    for domain in domain_list:
        for room_id in room_list:
            denial = is_allowed(mapping, domain, room_id)
            if denial is None:
                allowed.append((domain, room_id))
            else:
                skipped.append(denial)
    return SeedPlan(tuple(allowed), tuple(skipped))

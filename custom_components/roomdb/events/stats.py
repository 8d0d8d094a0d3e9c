"""What the event stream reports: the endpoint state and the buffer figures (pure Python)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class EndpointState(StrEnum):
    """The ingest endpoint as the sender sees it."""

    OK = "ok"
    """Reachable (or not tried yet); events are sent as they come."""
    RETRYING = "retrying"
    """Unreachable or answering 429/5xx/HTML/non-JSON: retried with backoff, events kept."""
    DISABLED = "disabled"
    """The event stream is switched off in the options."""
    ERROR = "error"
    """Permanently refused (bad token, rejected body): nothing is sent until the options change."""


@dataclass(frozen=True, slots=True)
class EventStreamStats:
    """One immutable reading of the event stream (sensors, ``flush_events``, diagnostics)."""

    state: EndpointState
    last_error: str | None
    capacity: int
    buffered: int
    oldest: int | None
    newest: int | None
    last_sent: int
    last_acked: int
    pending: int
    overflowed: int
    resent: int
    unrecoverable: int
    last_confirmed: int = 0
    """Everything up to it is confirmed stored by the peer (see ``ring``)."""
    awaiting_resend: int = 0
    """Events the peer reported missing that are pending again (part of ``pending``)."""
    peer_missing: tuple[tuple[int, int], ...] = ()
    """The peer's most recent gap report as runs ``(first, last)``."""
    disagreement: tuple[tuple[int, int], ...] = ()
    """Numbers of that report RoomDB counts as delivered; empty unless something is wrong."""

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-able form (the ``flush_events`` response)."""
        return {
            **asdict(self),
            "state": self.state.value,
            "peer_missing": [list(run) for run in self.peer_missing],
            "disagreement": [list(run) for run in self.disagreement],
        }

"""Tests for the ingest wire format and the defensive answer parser."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.roomdb.events.event import Event
from custom_components.roomdb.events.wire import (
    MAX_GAP_ENTRIES,
    SOURCE_VENDOR,
    IngestResult,
    build_ingest_body,
    encode_ingest_body,
    parse_ingest_response,
    parse_retry_after,
    transport_failure,
)

KEY = "roomdb-7f3a"
JSON = "application/json"


def gap_entry(missing: Any, key: str = KEY, vendor: str = SOURCE_VENDOR) -> dict[str, Any]:
    return {"device_key": key, "source_vendor": vendor, "missing_sequences": missing}


def answer(body: Any, status: int = 200, content_type: str = JSON, **kw: Any) -> IngestResult:
    text = body if isinstance(body, str) else json.dumps(body)
    return parse_ingest_response(status, content_type, text, KEY, **kw)


def test_build_body_matches_the_wire_format() -> None:
    events = [
        Event(1, "room_config_changed", "2026-01-01T00:00:00Z", {"room_id": "kitchen"}),
        Event(2, "alarm_changed", "2026-01-01T00:00:01+00:00", {}),
    ]
    body = build_ingest_body(events, KEY)
    assert body == {
        "events": [
            {
                "sequence_number": 1,
                "device_key": KEY,
                "source_vendor": "home_assistant",
                "event_type": "room_config_changed",
                "timestamp": "2026-01-01T00:00:00Z",
                "data": {"room_id": "kitchen"},
            },
            {
                "sequence_number": 2,
                "device_key": KEY,
                "source_vendor": "home_assistant",
                "event_type": "alarm_changed",
                "timestamp": "2026-01-01T00:00:01+00:00",
                "data": {},
            },
        ]
    }
    assert json.loads(encode_ingest_body(events, KEY)) == body
    with pytest.raises(ValueError, match="device_key"):
        build_ingest_body(events, "")


def test_ok_without_gaps() -> None:
    for body in ({"ok": True}, {"ok": True, "gaps": []}, {"ok": True, "gaps": None}):
        result = answer(body)
        assert result == IngestResult(ok=True, retryable=False, gaps=[], error=None, status=200)


def test_gaps_for_our_device_and_vendor_only() -> None:
    result = answer(
        {
            "ok": True,
            "gaps": [
                gap_entry([9, 3, 3]),
                gap_entry([100], key="someone-else"),
                gap_entry([101], vendor="other_vendor"),
                gap_entry([4]),
            ],
        }
    )
    assert result.ok
    assert result.gaps == [3, 4, 9]
    assert result.error is None


@pytest.mark.parametrize(
    ("missing", "problem"),
    [
        ([1, "2"], "non-integer"),
        ([1, 2.0], "non-integer"),
        ([True], "non-integer"),
        ([None], "non-integer"),
        ([[1]], "non-integer"),
        ([-5], "out of range"),
        ([0], "out of range"),
        ([2**63], "out of range"),
        ("1,2,3", "not a list"),
        ({"1": 1}, "not a list"),
        (None, "not a list"),
        (list(range(1, MAX_GAP_ENTRIES + 2)), "exceed"),
    ],
)
def test_malformed_gap_entries_are_ignored_with_an_error(missing: Any, problem: str) -> None:
    result = answer({"ok": True, "gaps": [gap_entry(missing), gap_entry([7], key="other")]})
    assert result.ok  # the batch itself was stored
    assert not result.retryable
    assert result.gaps == []
    assert result.error is not None
    assert problem in result.error


def test_a_malformed_entry_does_not_spoil_the_good_ones() -> None:
    result = answer({"ok": True, "gaps": [gap_entry([1, -1]), gap_entry([5, 6])]})
    assert result.gaps == [5, 6]
    assert result.error is not None
    assert "entry 0" in result.error


@pytest.mark.parametrize(
    ("gaps", "problem"),
    [
        ({"missing": [1]}, "not a list"),
        ("oops", "not a list"),
        ([7], "not an object"),
        ([{"source_vendor": SOURCE_VENDOR, "missing_sequences": [1]}], "device_key"),
        ([{"device_key": KEY, "missing_sequences": [1]}], "device_key"),
        ([{"device_key": 5, "source_vendor": SOURCE_VENDOR, "missing_sequences": [1]}], "string"),
        ([gap_entry([1])] + [3] * 50, "more"),
    ],
)
def test_malformed_gap_reports(gaps: Any, problem: str) -> None:
    result = answer({"ok": True, "gaps": gaps})
    assert result.ok
    assert result.error is not None
    assert problem in result.error


def test_missing_sequences_key_is_rejected() -> None:
    result = answer({"ok": True, "gaps": [{"device_key": KEY, "source_vendor": SOURCE_VENDOR}]})
    assert result.gaps == []
    assert result.error is not None


def test_total_gap_bound_across_entries() -> None:
    half = list(range(1, 6))
    result = answer({"ok": True, "gaps": [gap_entry(half), gap_entry(half)]}, max_gaps=8)
    assert result.gaps == half  # second entry had no room left
    assert result.error is not None


def test_huge_integer_in_gaps_does_not_fail_the_batch() -> None:
    text = f'{{"ok": true, "gaps": [{{"device_key": "{KEY}", "source_vendor": "home_assistant", '
    text += '"missing_sequences": [' + "9" * 5000 + "]}]}"
    result = answer(text)
    assert result.ok
    assert result.gaps == []
    assert result.error is not None


@pytest.mark.parametrize(
    ("status", "content_type", "text", "needle"),
    [
        (500, JSON, '{"ok": false}', "server error"),
        (502, "text/html", "<html><body>Bad gateway</body></html>", "HTML"),
        (503, "text/plain", "", "server error"),
        (429, JSON, "{}", "rate limited"),
        (408, "text/plain", "", "timeout"),
        (200, "text/html", "<!DOCTYPE html><html>Log in</html>", "HTML"),
        (200, "text/plain", "  <html>", "HTML"),
        (200, JSON, "not json at all", "not JSON"),
        (200, JSON, "", "not JSON"),
        (200, JSON, "[1, 2]", "not an object"),
        (200, JSON, '"ok"', "not an object"),
        (200, JSON, '{"ok": false, "error": "disk full"}', "disk full"),
        (200, JSON, '{"ok": "true"}', "did not confirm"),
        (200, JSON, '{"gaps": []}', "did not confirm"),
        (200, JSON, "[" * 100_000, "not JSON"),
        (204, JSON, "", "not JSON"),
    ],
)
def test_retryable_answers(status: int, content_type: str, text: str, needle: str) -> None:
    result = parse_ingest_response(status, content_type, text, KEY)
    assert not result.ok
    assert result.retryable
    assert result.error is not None
    assert needle in result.error


@pytest.mark.parametrize(
    ("status", "needle"),
    [(401, "token"), (403, "token"), (400, "rejected"), (404, "rejected"), (301, "rejected")],
)
def test_permanent_errors(status: int, needle: str) -> None:
    result = parse_ingest_response(status, JSON, '{"ok": false, "error": "nope"}', KEY)
    assert not result.ok
    assert not result.retryable
    assert result.error is not None
    assert needle in result.error
    assert result.status == status


def test_retry_after() -> None:
    assert answer({}, status=429, retry_after="7").retry_after == 7.0
    assert answer({}, status=503, retry_after="soon").retry_after is None
    assert parse_retry_after("999999999999") == 86_400.0
    now = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


def test_transport_failure_is_retryable() -> None:
    result = transport_failure("TimeoutError")
    assert (result.ok, result.retryable, result.error) == (False, True, "TimeoutError")
    assert transport_failure("").error == "transport error"


def test_garbage_arguments_never_raise() -> None:
    result = parse_ingest_response("200", None, None, KEY)  # type: ignore[arg-type]
    assert not result.ok
    assert result.retryable
    result = parse_ingest_response(200, None, b'{"ok": true}', KEY)  # type: ignore[arg-type]
    assert not result.ok


# -- properties ----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)
GAP_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "device_key": st.sampled_from([KEY, "other", 3, None]),
        "source_vendor": st.sampled_from([SOURCE_VENDOR, "x", None, []]),
        "missing_sequences": st.one_of(
            st.lists(st.integers(-3, 2**64) | st.booleans() | st.floats() | st.text(), max_size=8),
            JSON_VALUES,
        ),
    },
)
BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"ok": st.sampled_from([True, False, "true", 1, None])},
        optional={"gaps": st.one_of(st.lists(GAP_ENTRY | JSON_VALUES, max_size=5), JSON_VALUES)},
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    body=BODIES,
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 408, 429, 500, 502, 503, 599]),
    content_type=st.sampled_from([JSON, "text/html", "text/plain", ""]),
)
def test_random_json_never_raises_and_gaps_are_sane(
    body: Any, status: int, content_type: str
) -> None:
    result = parse_ingest_response(status, content_type, json.dumps(body), KEY)
    assert isinstance(result, IngestResult)
    assert not (result.ok and result.retryable)
    if result.ok:
        assert 200 <= status <= 299
        assert isinstance(body, dict)
        assert body["ok"] is True
    else:
        assert result.gaps == []
        assert result.error
    assert all(type(seq) is int and seq >= 1 for seq in result.gaps)
    assert result.gaps == sorted(set(result.gaps))
    assert len(result.gaps) <= MAX_GAP_ENTRIES


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200), status=st.integers(-5, 1000))
def test_random_text_never_raises(text: str, status: int) -> None:
    result = parse_ingest_response(status, "application/json", text, KEY)
    assert isinstance(result, IngestResult)


@settings(max_examples=200, deadline=None)
@given(mine=st.lists(st.integers(1, 10**6), max_size=30), theirs=st.lists(st.integers(1, 10**6)))
def test_well_formed_reports_are_read_exactly(mine: list[int], theirs: list[int]) -> None:
    body = {"ok": True, "gaps": [gap_entry(theirs, key="other"), gap_entry(mine)]}
    result = answer(body)
    assert result.gaps == sorted(set(mine))
    assert result.error is None

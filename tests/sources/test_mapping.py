"""The Segment and PostHog mappings on their own: ids, clocks, exposures (no server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from liftlab.sources import posthog, segment
from liftlab.sources.mapping import event_id_of
from liftlab.vocabulary import EXPOSURE_EVENT

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_a_device_clock_ahead_by_an_hour_is_taken_back():
    message = {
        "type": "track",
        "userId": "u1",
        "event": "purchase",
        "timestamp": "2026-05-01T12:59:00+00:00",  # a minute before it was sent, device time
        "sentAt": "2026-05-01T13:00:00+00:00",
    }
    event = segment.to_event(message, None, RECEIVED)
    assert datetime.fromisoformat(event["timestamp"]) == datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    # The batch's sentAt serves when the message has none; PostHog's sent_at the same way.
    del message["sentAt"]
    batch = segment.to_event(message, "2026-05-01T13:00:00Z", RECEIVED)
    assert batch["timestamp"] == event["timestamp"]
    capture = {"event": "purchase", "distinct_id": "u1", "timestamp": message["timestamp"]}
    assert (
        posthog.to_event(capture, "2026-05-01T13:00:00Z", RECEIVED)["timestamp"]
        == event["timestamp"]
    )


def test_a_clock_off_by_less_than_the_tolerance_is_left_alone():
    # Two batches of one device: the second took longer in flight, yet keeps its order.
    first = {"userId": "u", "event": "a", "timestamp": "2026-05-01T11:59:59.900+00:00"}
    second = {"userId": "u", "event": "b", "timestamp": "2026-05-01T11:59:59.901+00:00"}
    early = segment.to_event(first, "2026-05-01T11:59:59.990Z", RECEIVED)
    late = segment.to_event(second, "2026-05-01T11:59:59.910Z", RECEIVED)
    assert early["timestamp"] < late["timestamp"]
    assert late["timestamp"] == second["timestamp"]


def test_an_unreadable_timestamp_is_left_for_ingest_to_refuse():
    message = {
        "userId": "u1",
        "event": "x",
        "timestamp": "yesterday",
        "sentAt": "2026-05-01T13:00:00Z",
    }
    assert segment.to_event(message, None, RECEIVED)["timestamp"] == "yesterday"


def test_message_ids_are_event_ids_and_other_ids_stay_the_same_on_retry():
    message_id = str(uuid.uuid4())
    assert (
        segment.to_event({"userId": "u", "event": "x", "messageId": message_id}, None, RECEIVED)[
            "event_id"
        ]
        == message_id
    )
    assert event_id_of("ajs-1", "segment") == event_id_of("ajs-1", "segment")
    assert event_id_of("ajs-1", "segment") != event_id_of("ajs-1", "posthog")
    assert event_id_of("", "segment") is None


def test_user_id_before_anonymous_id_and_numbers_as_text():
    assert (
        segment.to_event({"userId": 7, "anonymousId": "a", "event": "x"}, None, RECEIVED)[
            "identifier"
        ]
        == "7"
    )
    assert (
        segment.to_event({"userId": "", "anonymousId": "a", "event": "x"}, None, RECEIVED)[
            "identifier"
        ]
        == "a"
    )


def test_exposures_from_each_source():
    viewed = {
        "userId": "u",
        "event": "Experiment Viewed",
        "properties": {"experiment_id": "checkout", "variation_id": "b"},
    }
    exposure = segment.to_event(viewed, None, RECEIVED)
    assert (exposure["event"], exposure["feature_name"], exposure["value"]) == (
        EXPOSURE_EVENT,
        "checkout",
        "b",
    )
    called = {
        "event": "$feature_flag_called",
        "distinct_id": "u",
        "properties": {"$feature_flag": "checkout", "$feature_flag_response": True},
    }
    event = posthog.to_event(called, None, RECEIVED)
    assert (event["event"], event["feature_name"], event["value"]) == (
        EXPOSURE_EVENT,
        "checkout",
        "true",
    )


def test_page_and_screen_are_events_and_identify_is_nothing():
    page = segment.to_event({"type": "page", "userId": "u", "name": "Docs"}, None, RECEIVED)
    assert page["event"] == "$page" and page["properties"] == {"name": "Docs"}
    assert segment.to_event({"type": "identify", "userId": "u"}, None, RECEIVED) is None


def test_a_type_that_is_no_name_is_a_track():
    event = segment.to_event({"type": ["page"], "userId": "u", "event": "e"}, None, RECEIVED)
    assert event["event"] == "e"


def test_the_key_posthog_js_puts_in_the_properties_is_not_stored():
    message = {"event": "x", "distinct_id": "u", "properties": {"token": "ll_ik_s", "plan": "pro"}}
    assert posthog.project_key(message) == "ll_ik_s"
    assert posthog.to_event(message, None, RECEIVED)["properties"] == {"plan": "pro"}


def test_posthog_identify_is_nothing_as_segment_identify_is():
    assert posthog.to_event({"event": "$identify", "distinct_id": "u"}, None, RECEIVED) is None


def test_an_event_name_that_is_no_text_is_left_for_ingest_to_refuse():
    assert posthog.to_event({"event": ["$identify"], "distinct_id": "u"}, None, RECEIVED)[
        "event"
    ] == ["$identify"]


def test_a_batch_context_is_every_message_s_under_its_own():
    library = {"name": "analytics-go", "version": "3.3.0"}
    body = {
        "context": {"library": library, "traits": {"plan": "pro"}},
        "batch": [
            {"userId": "u1", "event": "a"},
            {"userId": "u2", "event": "b", "context": {"library": {"name": "own", "version": "1"}}},
            "not a message",
        ],
    }
    messages, _ = segment.batch_messages(body, "batch")
    first, second = (segment.to_event(m, None, RECEIVED) for m in messages[:2])
    assert (first["sdk_language"], first["sdk_version"], first["traits"]) == (
        "analytics-go",
        "3.3.0",
        {"plan": "pro"},
    )
    assert (second["sdk_language"], second["traits"]) == ("own", {"plan": "pro"})
    assert messages[2] == "not a message"  # left for ingest to refuse, with its reason

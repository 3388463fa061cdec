from __future__ import annotations

import uuid

import msgspec
import pytest

from rathaus.contracts import DataClass, Event, contract, decode_event, encode_event, new_event
from rathaus.contracts.envelope import UnknownContractError


@contract(producer="portal", entity="envelope", happened="checked", version=1, data_class=DataClass.PUBLIC)
class EnvelopeChecked(Event, frozen=True, kw_only=True):
    value: int


def test_envelope_carries_the_cloudevents_attributes() -> None:
    event = new_event(
        EnvelopeChecked(value=3), subject="case-1", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    )
    raw = msgspec.json.decode(encode_event(event))
    assert raw["specversion"] == "1.0"
    assert uuid.UUID(raw["id"])
    assert raw["source"] == "/rathaus/portal"
    assert raw["type"] == "de.rathaus.portal.envelope.checked.v1"
    assert raw["subject"] == "case-1"
    assert raw["dataschema"].endswith("/portal.envelope.checked.v1.json")
    assert raw["time"].endswith("Z")
    assert raw["dataclassification"] == "public"
    assert raw["data"] == {"value": 3}
    assert EnvelopeChecked.__contract__.subject == "rathaus.portal.envelope.checked.v1"
    assert decode_event(encode_event(event)).payload() == EnvelopeChecked(value=3)


def test_data_that_does_not_match_the_contract_is_rejected() -> None:
    event = new_event(EnvelopeChecked(value=3))
    bad = encode_event(event).replace(b'"value":3', b'"value":"drei"')
    with pytest.raises(msgspec.ValidationError):
        decode_event(bad).payload()


def test_unknown_type_is_rejected() -> None:
    raw = encode_event(new_event(EnvelopeChecked(value=1))).replace(b"envelope.checked", b"envelope.unknown")
    with pytest.raises(UnknownContractError):
        decode_event(raw).payload()


def test_a_contract_must_be_frozen_and_keyword_only() -> None:
    with pytest.raises(TypeError):

        @contract(producer="portal", entity="bad", happened="made", version=1, data_class=DataClass.PUBLIC)
        class Bad(Event, kw_only=False):  # type: ignore[call-arg]
            value: int

"""The CloudEvents 1.0 envelope and the contract registry."""

from __future__ import annotations

import enum
import inspect
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import msgspec

MODULES = ("portal", "input", "eakte", "output", "broker", "opendata", "platform")
SCHEMA_BASE = "https://rathaus.example/schemas"


class DataClass(enum.StrEnum):
    """Who may read an event: drives the NATS permissions of integrators."""

    PUBLIC = "public"
    INTERNAL = "internal"
    PERSONAL = "personal"


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every contract payload (the CloudEvents ``data``)."""

    __contract__: ClassVar[Contract]


@dataclass(frozen=True)
class Contract:
    """What the registry knows of one published contract version."""

    producer: str
    entity: str
    happened: str
    version: int
    data_class: DataClass
    struct: type[Event]

    @property
    def name(self) -> str:
        return f"{self.producer}.{self.entity}.{self.happened}.v{self.version}"

    @property
    def subject(self) -> str:
        """NATS subject: ``rathaus.<module>.<entity>.<happened>.v<N>``."""
        return f"rathaus.{self.name}"

    @property
    def type(self) -> str:
        """CloudEvents type: ``de.rathaus.<module>.<entity>.<happened>.v<N>``."""
        return f"de.rathaus.{self.name}"

    @property
    def source(self) -> str:
        return f"/rathaus/{self.producer}"

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_BASE}/{self.name}.json"


REGISTRY: dict[str, Contract] = {}
E = TypeVar("E", bound=type[Event])


def contract(*, producer: str, entity: str, happened: str, version: int, data_class: DataClass) -> Any:
    """Register a Struct as a published contract version."""

    def register(struct: E) -> E:
        if producer not in MODULES:
            raise ValueError(f"unknown producer {producer!r}")
        params = inspect.signature(struct).parameters.values()
        if not struct.__struct_config__.frozen or any(p.kind is not p.KEYWORD_ONLY for p in params):
            raise TypeError(f"{struct.__name__} must be frozen and kw_only")
        meta = Contract(producer, entity, happened, version, data_class, struct)
        if meta.type in REGISTRY and REGISTRY[meta.type].struct is not struct:
            raise ValueError(f"contract {meta.type} registered twice")
        REGISTRY[meta.type] = meta
        struct.__contract__ = meta
        return struct

    return register


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A CloudEvents 1.0 envelope in JSON structured mode."""

    specversion: str
    id: str
    source: str
    type: str
    time: str
    datacontenttype: str
    data: msgspec.Raw
    subject: str | None = None
    dataschema: str | None = None
    traceparent: str | None = None
    dataclassification: str | None = None  # extension attribute: public | internal | personal

    @property
    def contract(self) -> Contract:
        try:
            return REGISTRY[self.type]
        except KeyError:
            raise UnknownContractError(self.type) from None

    def payload(self) -> Event:
        """The ``data`` decoded and validated against the registered contract."""
        return msgspec.json.decode(self.data, type=self.contract.struct)


class UnknownContractError(ValueError):
    def __init__(self, type_: str) -> None:
        super().__init__(f"no contract registered for type {type_!r}")


def new_event(
    data: Event, *, subject: str | None = None, traceparent: str | None = None, event_id: str | None = None
) -> CloudEvent:
    """Wrap a contract payload in a fresh envelope (new UUID unless given, current time)."""
    meta = type(data).__contract__
    return CloudEvent(
        specversion="1.0",
        datacontenttype="application/json",
        id=event_id or str(uuid.uuid4()),
        source=meta.source,
        type=meta.type,
        time=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        subject=subject,
        dataschema=meta.dataschema,
        traceparent=traceparent,
        dataclassification=meta.data_class.value,
        data=msgspec.Raw(msgspec.json.encode(data)),
    )


def encode_event(event: CloudEvent) -> bytes:
    return msgspec.json.encode(event)


def decode_event(raw: bytes) -> CloudEvent:
    """Decode an envelope; raises ``msgspec.ValidationError`` on a malformed one."""
    return msgspec.json.decode(raw, type=CloudEvent)

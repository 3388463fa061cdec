"""The AsyncAPI 3.0 document for integrators, generated from the contracts and from
the subscriptions the modules declare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rathaus.contracts.catalogue import contracts
from rathaus.contracts.schemas import schema_of

ENVELOPE_HEADERS = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "Equals the CloudEvents id; JetStream deduplicates on it.",
        },
        "traceparent": {"type": "string", "description": "W3C trace context of the producing span."},
    },
}


def _envelope(meta_type: str, source: str, schema_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"const": source},
            "type": {"const": meta_type},
            "subject": {"type": "string", "description": "The case id (Vorgang), where there is one."},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"type": "string", "format": "uri"},
            "traceparent": {"type": "string"},
            "dataclassification": {"enum": ["public", "internal", "personal"]},
            "data": {"$ref": schema_ref},
        },
    }


def build(consumers: Mapping[str, Sequence[str]], *, nats_url: str, version: str = "1") -> dict[str, Any]:
    """``consumers`` maps each module to the CloudEvents types it subscribes to."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for meta in contracts():
        key = meta.name.replace(".", "_")
        schema = schema_of(meta)
        defs = schema.pop("$defs", {})
        for name, definition in defs.items():
            schemas[name] = _rewrite_refs(definition)
        schemas[key] = _rewrite_refs(schema)
        messages[key] = {
            "name": meta.struct.__name__,
            "title": f"{meta.struct.__name__} v{meta.version}",
            "summary": (meta.struct.__doc__ or "").strip().splitlines()[0] if meta.struct.__doc__ else "",
            "contentType": "application/cloudevents+json",
            "headers": ENVELOPE_HEADERS,
            "payload": _envelope(meta.type, meta.source, f"#/components/schemas/{key}"),
            "x-data-class": meta.data_class.value,
            "x-cloudevents-type": meta.type,
        }
        channels[key] = {
            "address": meta.subject,
            "title": meta.type,
            "description": f"Published by the {meta.producer} module; data class {meta.data_class.value}.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        ref = {
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
        operations[f"{meta.producer}_sends_{key}"] = {
            "action": "send",
            "title": f"{meta.producer} publishes",
            **ref,
        }
        for module, types in sorted(consumers.items()):
            if meta.type in types:
                operations[f"{module}_receives_{key}"] = {
                    "action": "receive",
                    "title": f"{module} consumes",
                    **ref,
                }
    host = nats_url.split("://", 1)[-1]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Rathaus events",
            "version": version,
            "description": (
                "Every event of the Rathaus platform, as CloudEvents 1.0 in JSON on NATS JetStream. "
                "One stream per producing module (RATHAUS_<MODULE>, subjects rathaus.<module>.>). "
                "Integrators may subscribe to events of data class public and internal."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"nats": {"host": host, "protocol": "nats", "description": "NATS with JetStream"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _rewrite_refs(v)
            )
            for k, v in node.items()
            if not k.startswith("$schema")
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node

"""The AsyncAPI document lists every published event with its schema and consumers."""

from __future__ import annotations

from rathaus.contracts.catalogue import contracts
from rathaus.platform import asyncapi


def test_every_contract_is_a_channel_with_its_schema_and_data_class() -> None:
    consumers = {"eakte": ["de.rathaus.portal.application.submitted.v1"]}
    doc = asyncapi.build(consumers, nats_url="nats://127.0.0.1:4222")
    assert doc["asyncapi"] == "3.0.0"
    for meta in contracts():
        key = meta.name.replace(".", "_")
        channel = doc["channels"][key]
        assert channel["address"] == meta.subject
        message = doc["components"]["messages"][key]
        assert message["x-data-class"] == meta.data_class.value
        assert message["payload"]["properties"]["type"] == {"const": meta.type}
        data_ref = message["payload"]["properties"]["data"]["$ref"]
        schema = doc["components"]["schemas"][data_ref.rsplit("/", 1)[1]]
        assert set(schema["properties"]) == set(meta.struct.__struct_fields__)
        assert doc["operations"][f"{meta.producer}_sends_{key}"]["action"] == "send"
    receive = doc["operations"]["eakte_receives_portal_application_submitted_v1"]
    assert receive["action"] == "receive"
    # every $ref points into the document
    refs = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    for ref in refs:
        target: object = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, ref
            target = target[part]

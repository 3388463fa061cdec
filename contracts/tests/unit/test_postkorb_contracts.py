"""The two-way Postkorb's contracts: texts are personal, the summaries are for integrators."""

from __future__ import annotations

from rathaus.contracts.catalogue import readable_by_integrators
from rathaus.contracts.eakte.v1 import DocumentsRequested, MessageSent, ReplyFiled
from rathaus.contracts.envelope import DataClass
from rathaus.contracts.input.v1 import ReplyRouted
from rathaus.contracts.platform.v1 import DecisionDeadlineChanged, DocumentsOverdue
from rathaus.contracts.portal.v1 import ReplySubmitted

WITH_TEXT = (MessageSent, ReplySubmitted, ReplyRouted)
SUMMARIES = (DocumentsRequested, ReplyFiled, DocumentsOverdue, DecisionDeadlineChanged)


def test_events_with_the_text_are_personal_and_hidden_from_integrators() -> None:
    readable = {c.struct for c in readable_by_integrators()}
    for struct in WITH_TEXT:
        assert struct.__contract__.data_class is DataClass.PERSONAL
        assert "text" in struct.__struct_fields__
        assert struct not in readable


def test_summaries_carry_no_text_and_integrators_may_read_them() -> None:
    readable = {c.struct for c in readable_by_integrators()}
    for struct in SUMMARIES:
        assert struct.__contract__.data_class is DataClass.INTERNAL
        assert struct in readable
        assert not {"text", "subject", "attachments", "sent_by"} & set(struct.__struct_fields__)


def test_subjects_follow_the_naming_rule() -> None:
    assert MessageSent.__contract__.subject == "rathaus.eakte.message.sent.v1"
    assert DocumentsRequested.__contract__.subject == "rathaus.eakte.documents.requested.v1"
    assert ReplySubmitted.__contract__.subject == "rathaus.portal.reply.submitted.v1"
    assert ReplyFiled.__contract__.type == "de.rathaus.eakte.reply.filed.v1"

"""Citizens' portal: service catalogue, accounts, online forms with register data on request,
"Meine Anträge", the Postkorb (electronic mailbox) and the log of who used one's data.

Emits ``ApplicationSubmitted``; consumes ``CaseStatusChanged``, ``CaseOpened`` and
``DecisionDelivered``; asks the data broker ``FETCH_EVIDENCE``, ``LOOKUP_ADDRESS`` and
``QUERY_TRANSPARENCY``.
"""

NAME = "portal"
PREFIX = ""
TITLE = "Bürgerportal"

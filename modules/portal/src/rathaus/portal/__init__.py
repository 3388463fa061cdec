"""Citizens' portal: service catalogue, accounts (password or passkey; sessions that end
after idle and absolute timeouts per assurance level), online forms with register data on request,
"Meine Anträge", the Postkorb (electronic mailbox), the log of who used one's data, and
online appointments in the Bürgerbüros (hold, book, cancel, rebook, ICS, reminders).

Emits ``ApplicationSubmitted``, ``AppointmentBooked`` and ``AppointmentCancelled``; consumes
``CaseStatusChanged``, ``CaseOpened``, ``DecisionDelivered`` and ``AppointmentReminderDue``; asks the data broker ``FETCH_EVIDENCE``, ``LOOKUP_ADDRESS`` and
``QUERY_TRANSPARENCY``.
"""

NAME = "portal"
PREFIX = ""
TITLE = "Bürgerportal"

"""The embedded default's mail server: a real SMTP server (aiosmtpd) on loopback that
keeps every message in a Maildir under ``<data_dir>/mail``, so notification e-mails of a
demo city can be read without sending anything out. Production configures ``smtp.host``."""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class MailSink:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.path = data_dir / "mail"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.controller = Controller(Mailbox(self.path), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Any]:
        return list(mailbox.Maildir(str(self.path), create=True))

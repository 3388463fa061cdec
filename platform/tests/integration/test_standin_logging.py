"""The embedded stand-ins (test payment provider, test identity provider, Test-Archiv) leave
the process's logging as the CLI set it: a citizen's e-mail address the local mail sink
receives is not printed (before, Litestar's default logging of the stand-ins' apps set the
root logger to INFO, and `rathaus up` printed every RCPT TO)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, smtplib, sys
from pathlib import Path
from rathaus.platform.cli import main  # noqa: F401 - what the CLI imports, imported
from rathaus.platform.kernel.settings import Settings
from rathaus.platform.runtime.archivpeer import TestArchive, peer_config
from rathaus.platform.runtime.idprovider import TestIdentityProvider
from rathaus.platform.runtime.mailsink import MailSink
from rathaus.platform.runtime.payprovider import TestPaymentProvider
from rathaus.platform.runtime.processes import free_port

logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
data = Path(sys.argv[1])
port = free_port()
sink = MailSink(data, port)
stand_ins = [
    TestPaymentProvider(data, free_port(), [("o", "e")]),
    TestIdentityProvider(data, free_port()),
    TestArchive(data, free_port(), peer_config(Settings(data_dir=data))),
]
sink.start()
for stand_in in stand_ins:
    stand_in.start()
try:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("postkorb@rathaus.example", ["erika.muster@example.org"], "Subject: Bescheid\\r\\n\\r\\nHallo")
finally:
    for stand_in in stand_ins:
        stand_in.stop()
    sink.stop()
print(len(sink.messages()), "delivered")
"""


def test_the_mail_sink_prints_no_address_beside_the_stand_ins(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    assert "1 delivered" in done.stdout  # the mail arrived, so the sink did see the address
    assert "erika.muster" not in printed, printed

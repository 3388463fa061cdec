"""Load for ``rathaus bench``: run by locust in its own process (gevent), never imported
by the platform. ``Citizen`` submits applications over the portal's JSON API after
logging in through the login form; ``Bare`` posts the same JSON to a bare Litestar app."""

from __future__ import annotations

import base64
import itertools
import os
import re
import uuid

from locust import FastHttpUser, constant, task

from rathaus.platform.bench.cases import ANGABEN, vehicle_scan

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
ACCOUNTS = itertools.cycle(
    tuple(pair.split(":", 1)) for pair in os.environ.get("RATHAUS_BENCH_CITIZENS", "").split(",") if pair
)
SCAN = base64.b64encode(vehicle_scan()).decode()


def application() -> dict[str, object]:
    return {
        "service_id": "bewohnerparkausweis",
        "vorgangsnummer": str(uuid.uuid4()),
        "angaben": ANGABEN,
        "nachweise": [{"art": "fahrzeugschein", "dateiname": "fahrzeugschein.png", "inhalt_base64": SCAN}],
    }


class Citizen(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        email, password = next(ACCOUNTS)
        page = self.client.get("/konto/anmelden", name="login page").text or ""
        match = TOKEN.search(page)
        assert match, "no CSRF token on the login page"
        self.client.post(
            "/konto/anmelden",
            data={"email": email, "password": password, "_csrf_token": match.group(1)},
            allow_redirects=False,
            name="login",
        )

    @task
    def submit(self) -> None:
        with self.client.post("/api/antraege", json=application(), name="submit", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")


class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def submit(self) -> None:
        with self.client.post("/bare", json=application(), name="submit", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(str(r.status_code))

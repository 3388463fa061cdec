"""One typed settings object: TOML file, then ``RATHAUS_*`` environment variables.

The defaults are the embedded setup: everything under one data directory, NATS and
Temporal started by ``rathaus up`` on loopback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MODULE_NAMES = ("portal", "input", "eakte", "output", "broker", "opendata")
COMPONENTS = (*MODULE_NAMES, "orchestration")  # what a process can run


class NatsSettings(BaseModel):
    url: str = "nats://127.0.0.1:4222"
    port: int = 4222
    user: str | None = None
    password: str | None = None
    replicas: int = 1  # 3 on a production cluster
    max_deliver: int = 5  # deliveries before a message goes to the dead-letter stream
    ack_wait_seconds: float = 30.0


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "rathaus-cases"
    ui_port: int = 8233


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # the URL citizens reach, when behind a proxy


class SessionTimeouts(BaseModel):
    """How long a login at one assurance level lasts: at most ``absolute_seconds`` after the
    login, and no longer than ``idle_seconds`` after the last request."""

    absolute_seconds: int = Field(gt=0)
    idle_seconds: int = Field(gt=0)


class SessionSettings(BaseModel):
    """Session timeouts per assurance level of the login (as BundID form services require);
    the defaults are BundID's. Tests shorten them to seconds."""

    niedrig: SessionTimeouts = SessionTimeouts(absolute_seconds=12 * 3600, idle_seconds=60 * 60)
    substantiell: SessionTimeouts = SessionTimeouts(absolute_seconds=2 * 3600, idle_seconds=30 * 60)
    hoch: SessionTimeouts = SessionTimeouts(absolute_seconds=30 * 60, idle_seconds=5 * 60)
    # the warning ("Sitzung verlängern") appears this long before the idle timeout (WCAG 2.2.1)
    warn_seconds: int = Field(default=120, gt=0)

    def longest(self) -> int:
        """The longest a session can last: the session cookie lives that long."""
        return max(t.absolute_seconds for t in (self.niedrig, self.substantiell, self.hoch))


class SmtpSettings(BaseModel):
    host: str | None = None  # None: `rathaus up` runs a local mail sink (Maildir under data_dir/mail)
    port: int = 8025
    sender: str = "Stadtverwaltung <postkorb@rathaus.example>"
    user: str | None = None
    password: str | None = None
    starttls: bool = False


class PaymentSettings(BaseModel):
    """An XBezahldienste 1.0 provider; without ``url``, ``rathaus up`` runs the embedded
    test provider (no money moves) on ``port`` and points these settings at it."""

    url: str | None = None
    port: int = 8091  # the embedded test provider's port
    originator_id: str = "rathaus-demo"
    endpoint_id: str = "gebuehren"
    user: str | None = None
    password: str | None = None
    token: str | None = None
    timeout_seconds: float = 10.0
    # the provider's daily settlement report, a URL template with {day} (ISO date)
    settlement_url: str | None = None
    # how long a payment attempt stays open (an operational timeout: not scaled by deadline_scale)
    attempt_hours: float = 3.0
    # how the provider is named in the settlement event ("test-provider" for the embedded one)
    name: str = "xbezahldienste"


class TelemetrySettings(BaseModel):
    # a span for every SQL statement: for a profiling session, not for everyday running
    # (it cost about a tenth of a request in the booking benchmark)
    sql_spans: bool = False
    # head sampling: the share of new traces recorded. Parent-based: whoever continues a
    # trace (an event's consumer, the workflow) follows the decision made where it began,
    # so a sampled case keeps every span and `rathaus trace` still shows it whole.
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


class Settings(BaseSettings):
    """Everything a process of Rathaus needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="RATHAUS_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(".rathaus")
    nats: NatsSettings = Field(default_factory=NatsSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    payment: PaymentSettings = Field(default_factory=PaymentSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    # module name -> SQLAlchemy URL; a module without an entry gets a SQLite file
    databases: dict[str, str] = Field(default_factory=dict)
    # file://… (default: <data_dir>/blobs) or s3://bucket/prefix
    blob_url: str | None = None
    # OTLP/HTTP endpoint of a collector; without one, spans go to <data_dir>/telemetry
    otlp_endpoint: str | None = None
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    secret_key: str | None = None
    seed_demo: bool = True
    # multiplies every procedure deadline (Frist); tests and demos use a small factor
    deadline_scale: float = 1.0
    # directories with the city's own procedures (services as data), beside the built-in ones
    procedure_dirs: list[Path] = Field(default_factory=list)
    builtin_procedures: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("RATHAUS_CONFIG", "rathaus.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    def database_url(self, module: str) -> str:
        if module in self.databases:
            return self.databases[module]
        return f"sqlite+aiosqlite:///{(self.data_dir / 'db' / f'{module}.sqlite').resolve()}"

    def blob_location(self) -> str:
        return self.blob_url or (self.data_dir / "blobs").resolve().as_uri()

    def secret(self) -> bytes:
        """The key for sessions and CSRF; created once per data dir when not configured."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)

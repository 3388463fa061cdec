"""One typed settings object: TOML file, then ``RATHAUS_*`` environment variables.

The defaults are the embedded setup: everything under one data directory, NATS and
Temporal started by ``rathaus up`` on loopback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

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
    # a publish that meets no stream leader (an election after a node died takes seconds),
    # a timeout or a reconnect is tried again this long, with the same Nats-Msg-Id, before
    # the outbox relay's own backoff takes over
    publish_retry_seconds: float = 15.0
    # how often a client pings the server: a dead connection is noticed after about
    # three missed pings (nats-py's default, two minutes, would hide it for minutes)
    ping_interval_seconds: int = 5
    # JetStream's fsync interval: None keeps the server's default (every 2 minutes: a power
    # loss of the whole cluster can lose acknowledged messages); "always" syncs every write
    # before the ack (the production profile); or a Go duration such as "10s"
    sync_interval: str | None = None
    # `rathaus up` only: how many nats-server nodes it starts (`--nats-cluster 3`); the
    # nodes listen on port, port+1, …, and route to each other on cluster_port, cluster_port+1, …
    cluster_nodes: int = Field(default=1, ge=1, le=9)
    cluster_port: int = 6222

    def servers(self) -> list[str]:
        """The server list: ``url`` may name several, separated by commas."""
        return [server.strip() for server in self.url.split(",") if server.strip()]


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "rathaus-cases"
    ui_port: int = 8233


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # the URL citizens reach, when behind a proxy
    # `rathaus up`: 2 runs the E-Akte and the case workflows (Temporal worker) in a second
    # process behind the same origin (both cores); 1 keeps every module in one process
    processes: int = Field(default=2, ge=1, le=2)
    # `rathaus up --replicas 2`: every group of modules runs in that many processes
    # (RATHAUS_REPLICA 0, 1, …), the web front taking them in turn as a load balancer does:
    # the production shape's replicas on one machine (with --postgres and --nats-cluster)
    replicas: int = Field(default=1, ge=1, le=4)


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


class ArchiveSettings(BaseModel):
    """The archive files are offered to when their retention ends (Aussonderung, xdomea
    0501–0507). Messages go through a transfer directory (``outbox``: to the archive,
    ``inbox``: from it) or an HTTP endpoint (``url``). With neither set, ``rathaus up`` runs
    the embedded Test-Archiv on ``port`` over ``<data_dir>/archiv/<code>``."""

    code: str = "stadtarchiv"  # the archive's key in the xdomea header (Behördenschlüssel)
    name: str = "Stadtarchiv"
    outbox: Path | None = None  # transfer directory: messages to the archive
    inbox: Path | None = None  # transfer directory: messages from the archive
    url: str | None = None  # HTTP endpoint instead of a transfer directory
    user: str | None = None
    password: str | None = None
    port: int = 8093  # the embedded Test-Archiv's port
    test_archive: bool = True  # False: never run the Test-Archiv
    poll_seconds: float = 30.0  # how often the transfer directory / endpoint is read
    # auto: files the plan marks A go straight to the archive (two-step, 0503 -> 0506), the
    # others are offered first (four-step, 0501 -> 0502 -> 0503 -> 0506); or only one way
    verfahren: str = "auto"
    # the sending authority in the xdomea header
    behoerde_code: str = "09162000"
    behoerde_name: str = "Landeshauptstadt München"

    def configured(self) -> bool:
        return bool(self.url or self.outbox or self.inbox)

    def transfer(self, data_dir: Path) -> tuple[Path, Path]:
        """(outbox, inbox) of the transfer directory; the Test-Archiv's by default."""
        base = data_dir / "archiv" / self.code
        return (self.outbox or base / "an_archiv", self.inbox or base / "vom_archiv")


# how identity providers name assurance levels -> Rathaus's levels (niedrig is BundID's "basis")
DEFAULT_LEVELS: dict[str, str] = {
    "STORK-QAA-Level-1": "niedrig",
    "STORK-QAA-Level-2": "niedrig",
    "STORK-QAA-Level-3": "substantiell",
    "STORK-QAA-Level-4": "hoch",
    "http://eidas.europa.eu/LoA/low": "niedrig",
    "http://eidas.europa.eu/LoA/substantial": "substantiell",
    "http://eidas.europa.eu/LoA/high": "hoch",
}


class IdentityProviderSettings(BaseModel):
    """One external identity provider citizens may log in with (BundID, BayernID, …)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")  # in URLs and in the account links
    label: str  # on the login page: "Mit {label} anmelden"
    kind: Literal["oidc", "saml"] = "oidc"
    # OIDC: the issuer (its discovery document is {issuer}/.well-known/openid-configuration);
    # SAML: the IdP's metadata URL
    issuer: str
    client_id: str = ""  # OIDC client id; SAML: the portal's entity id (default: its metadata URL)
    client_secret: str = ""
    scope: str = "openid profile"
    # the provider's level values (acr / AuthnContextClassRef) -> niedrig|substantiell|hoch
    levels: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LEVELS))
    # acr values asked for, per Rathaus level (for a step-up); empty: ask for none
    request_levels: dict[str, str] = Field(default_factory=dict)
    organisations: bool = False  # logs in organisations (Mein Unternehmenskonto)

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, levels: dict[str, str]) -> dict[str, str]:
        wrong = [
            f"{k!r} -> {v!r}"
            for k, v in levels.items()
            if v not in ("niedrig", "substantiell", "hoch", "basis")
        ]
        if wrong:
            raise ValueError(
                f"levels map to niedrig, substantiell or hoch (basis = niedrig): {', '.join(wrong)}"
            )
        return levels

    @field_validator("request_levels")
    @classmethod
    def _known_request_levels(cls, levels: dict[str, str]) -> dict[str, str]:
        wrong = [k for k in levels if k not in ("niedrig", "substantiell", "hoch")]
        if wrong:
            raise ValueError(
                f"request_levels are keyed by niedrig, substantiell or hoch, not {', '.join(wrong)}"
            )
        return levels


class IdentitySettings(BaseModel):
    """External identity providers; without any, ``rathaus up`` runs the embedded test
    identity provider (OIDC and SAML, test persons, never a real BundID) on ``port``."""

    providers: list[IdentityProviderSettings] = Field(default_factory=list)
    port: int = 8092  # the embedded test identity provider's port
    test_provider: bool = True  # False: local accounts only, no test identity provider

    @field_validator("providers")
    @classmethod
    def _unique_ids(cls, providers: list[IdentityProviderSettings]) -> list[IdentityProviderSettings]:
        ids = [p.id for p in providers]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"identity provider ids must be unique: {', '.join(twice)}")
        return providers


class TelemetrySettings(BaseModel):
    # a span for every SQL statement: for a profiling session, not for everyday running
    # (it cost about a tenth of a request in the booking benchmark)
    sql_spans: bool = False
    # head sampling: the share of new traces recorded. Parent-based: whoever continues a
    # trace (an event's consumer, the workflow) follows the decision made where it began,
    # so a sampled case keeps every span and `rathaus trace` still shows it whole.
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


class PartnerAuthority(BaseModel):
    """Another authority files are handed to (xdomea Abgabe 0401–0403): its Behördenkennung,
    name, and the transfer directories (we write to ``outbox``, it writes to ``inbox``)."""

    code: str
    name: str
    outbox: Path
    inbox: Path
    # the unit that receives its Vorgänge when the local Aktenplan does not name one
    unit: str = ""
    # optionally over HTTP instead of the outbox: the partner's endpoint
    # (…/arbeitsplatz/api/xdomea/<our code>) and the secret both sides send as bearer token;
    # the partner may post to ours (…/api/xdomea/<its code>) with the same token
    url: str | None = None
    token: str | None = None


class AbgabeSettings(BaseModel):
    """This authority in xdomea messages, and the partner authorities of the Abgabe."""

    authority_code: str = "09162000"  # Amtlicher Gemeindeschlüssel of Munich
    authority_name: str = "Landeshauptstadt München"
    partners: list[PartnerAuthority] = Field(default_factory=list)
    poll_seconds: float = Field(default=10.0, gt=0)  # how often the inboxes are looked at

    @field_validator("partners")
    @classmethod
    def _unique_partners(cls, partners: list[PartnerAuthority]) -> list[PartnerAuthority]:
        codes = [p.code for p in partners]
        if len(set(codes)) != len(codes):
            raise ValueError("partner authority codes must be unique")
        return partners


class Settings(BaseSettings):
    """Everything a process of Rathaus needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="RATHAUS_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(".rathaus")
    nats: NatsSettings = Field(default_factory=NatsSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    payment: PaymentSettings = Field(default_factory=PaymentSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    # module name -> SQLAlchemy URL; a module without an entry gets its database on the
    # `postgres` server when one is set, else a SQLite file under data_dir/db
    databases: dict[str, str] = Field(default_factory=dict)
    # a PostgreSQL server (postgresql://user:password@host:5432/rathaus): every module gets
    # its own database there, named <the URL's database>_<module> (rathaus_portal, …),
    # created on the module's first start when missing (the role needs CREATEDB for that)
    postgres: str | None = None
    # PostgreSQL connection pool of each module's process: connections kept open, and how
    # many more may be opened for a burst (SQLite has no pool to size: one writer anyway)
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    # SQLite: must a commit survive a power loss before the caller goes on? Yes (the default)
    # where someone was told it happened: a citizen's submission, booking or reply, a
    # clerk's decision, an incoming item, a delivery date, a consent log entry, and every
    # consumed event (its ack follows the commit). Open data is not: its tables are monthly
    # counts derived from the events, and a power loss that drops its last transaction (the
    # events of a few milliseconds, already acked) moves a published sum by those events,
    # which is tolerable for statistics; it skips the fsync. See db.WalSync.
    sqlite_power_safe: dict[str, bool] = Field(default_factory=lambda: {"opendata": False})
    # file://… (default: <data_dir>/blobs) or s3://bucket/prefix
    blob_url: str | None = None
    # OTLP/HTTP endpoint of a collector; without one, spans go to <data_dir>/telemetry
    otlp_endpoint: str | None = None
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    abgabe: AbgabeSettings = Field(default_factory=AbgabeSettings)
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
        if self.postgres:
            return postgres_module_url(self.postgres, module)
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


def postgres_module_url(server: str, module: str) -> str:
    """The URL of ``module``'s own database on a PostgreSQL server (asyncpg driver)."""
    url = make_url(server)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"postgres: a PostgreSQL URL, not {url.drivername}")
    return url.set(database=f"{url.database or 'rathaus'}_{module}").render_as_string(hide_password=False)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)

"""What every module's Litestar app shares: error pages and JSON errors, OpenAPI,
OpenTelemetry, sessions and CSRF for pages, and the base layout with KERN UX and htmx.

Every module's routes carry its URL prefix (``/arbeitsplatz``, ``/opendaten``, …), so
the same app runs alone behind a reverse proxy or beside the others on one origin.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from rathaus.platform.kernel.module import Kernel

log = logging.getLogger("rathaus.web")
KERNEL_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

ERROR_TEXTS = {
    400: "Die Anfrage ist unvollständig oder fehlerhaft.",
    401: "Bitte melden Sie sich an.",
    403: "Sie haben keine Berechtigung für diese Seite.",
    404: "Diese Seite gibt es nicht.",
    405: "Diese Aktion ist hier nicht möglich.",
    413: "Die Datei ist zu groß.",
    415: "Dieser Dateityp wird nicht angenommen.",
    500: "Ein interner Fehler ist aufgetreten. Ihre Daten sind nicht verloren; bitte versuchen Sie es später erneut.",
}


def wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "/api/" in request.url.path or ("application/json" in accept and "text/html" not in accept)


def error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    detail = exc.detail if isinstance(exc, HTTPException) and status < 500 else ERROR_TEXTS[500]
    if status >= 500:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
    if wants_json(request):
        body: dict[str, Any] = {"status_code": status, "detail": detail}
        if isinstance(exc, HTTPException) and exc.extra:
            body["extra"] = exc.extra
        return Response(body, status_code=status, media_type=MediaType.JSON)
    return Template(
        "error.html",
        context={"status": status, "message": ERROR_TEXTS.get(status, detail), "detail": detail},
        status_code=status,
    )


def derive_key(settings_secret: bytes, purpose: str) -> bytes:
    return hashlib.sha256(settings_secret + b"/" + purpose.encode()).digest()


def create_module_app(
    kernel: Kernel,
    *,
    prefix: str,
    title: str,
    routes: Sequence[ControllerRouterHandler],
    templates: Path | None = None,
    csrf_exclude: Sequence[str] = (),
    context: dict[str, Any] | None = None,
) -> Litestar:
    """The Litestar app of one module, mounted at ``prefix`` ("" for the portal)."""
    secret = kernel.settings.secret()
    dirs: list[Path | PathLike[Any] | str] = [d for d in (templates, KERNEL_TEMPLATES) if d is not None]
    engine_config = TemplateConfig(directory=dirs, engine=JinjaTemplateEngine)

    def add_globals(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update({"base": prefix, "module": kernel.module, "module_title": title})
        engine.engine.globals.update(context or {})

    engine_config.engine_callback = add_globals
    cookie_path = prefix or "/"
    return Litestar(
        route_handlers=[
            *routes,
            create_static_files_router(
                path=f"{prefix}/static", directories=[STATIC], include_in_schema=False
            ),
        ],
        template_config=engine_config,
        middleware=[
            CookieBackendConfig(
                secret=derive_key(secret, f"session:{kernel.module}"),
                key=f"rathaus-{kernel.module}",
                path=cookie_path,
                samesite="lax",
                # the timeouts per assurance level are enforced by the module on every
                # request (login time and last activity are in the signed cookie); the cookie
                # itself must outlive the longest of them
                max_age=max(8 * 3600, kernel.settings.sessions.longest()),
            ).middleware
        ],
        csrf_config=CSRFConfig(
            secret=derive_key(secret, f"csrf:{kernel.module}").hex(),
            cookie_name=f"csrf-{kernel.module}",
            cookie_path=cookie_path,
            cookie_httponly=True,
            exclude=[f"{prefix}/api/.*", *csrf_exclude],
        ),
        openapi_config=OpenAPIConfig(
            title=f"Rathaus {title}", version="1", path=f"{prefix}/schema", use_handler_docstrings=True
        ),
        plugins=[
            # one span per request; the ASGI layer's "http receive"/"http send" spans (three
            # more per request, each with its attributes) say nothing the request's span does not
            OpenTelemetryPlugin(
                OpenTelemetryConfig(tracer_provider=kernel.provider, exclude_spans=["receive", "send"])
            ),
            HTMXPlugin(),
        ],
        exception_handlers={Exception: error_handler},
        request_max_body_size=25 * 1024 * 1024,
        logging_config=None,  # the process configures logging once (rathaus CLI), not each app
        debug=False,
    )

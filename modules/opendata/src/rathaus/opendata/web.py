"""Public pages, downloads, CKAN Action API and DCAT-AP.de catalogue of the open-data
portal. Open data is public: no login anywhere here; nothing here is personal."""

from __future__ import annotations

import json
from typing import Any

from litestar import MediaType, Request, Response, get, route
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Template

from rathaus.opendata import PREFIX, ckan, dcat
from rathaus.opendata.domain import payment_formats, payments, postkorb, postkorb_formats
from rathaus.opendata.domain.catalogue import LICENCE, PUBLISHER
from rathaus.opendata.domain.datasets import BEARBEITUNGSDAUER, GEHEIMHALTUNG, ZAEHLWEISE, PublishedDataset
from rathaus.opendata.domain.entries import Download, Entry
from rathaus.opendata.domain.formats import (
    FALLZAHLEN,
    download,
    entry,
    german_date,
    german_datetime,
    german_month,
    records,
    totals,
)
from rathaus.opendata.domain.times import TimesRow
from rathaus.opendata.handlers import OpenData

OPEN = {"Access-Control-Allow-Origin": "*"}  # open data may be read from any site
API = f"{PREFIX}/api/3/action"


def _summary(ds: Entry) -> dict[str, Any]:
    span = ds.period
    return {
        "id": ds.id,
        "title": ds.title,
        "summary": ds.summary,
        "service": ds.scope,
        "modified": german_datetime(ds.modified),
        "period": span,
        "period_text": f"{german_date(span[0])} bis {german_date(span[1])}" if span else "",
        "downloads": [
            {"table": d.heading, "format": d.format, "path": d.path, "size": len(d.data)}
            for d in ds.downloads
        ],
    }


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def _time(row: TimesRow) -> dict[str, Any]:
    return {
        "label": german_month(row.monat) if row.monat else "Alle Monate",
        "bescheide": row.bescheide,
        "p50": _days(row.p50),
        "p90": _days(row.p90),
        "reason": row.reason,
    }


def _tables(ds: PublishedDataset) -> dict[str, Any]:
    """The rows of the page's tables; a suppressed value stays None (shown as „gesperrt“)."""
    keys = [m.key for m in ds.definition.measures]
    sums = totals(ds)
    return {
        "rows": [
            {
                "monat": german_month(r["monat"]),
                "stadtbezirk": r["stadtbezirk"],
                "cells": [r[k] for k in keys],
            }
            for r in records(ds)
        ],
        "by_district": [
            *({"label": t["stadtbezirk"], "cells": [t[k] for k in keys]} for t in sums["stadtbezirke"]),
            {"label": "Alle Stadtbezirke", "cells": [sums["insgesamt"][k] for k in keys]},
        ],
        "by_month": [
            *({"label": german_month(t["monat"]), "cells": [t[k] for k in keys]} for t in sums["monate"]),
            {"label": "Alle Monate", "cells": [sums["insgesamt"][k] for k in keys]},
        ],
        "times": [*(_time(r) for r in ds.times), _time(ds.times_total)],
    }


def _payment_tables(ds: payments.PaymentsDataset) -> dict[str, Any]:
    """The rows of the payments page's tables; a suppressed value stays None."""
    keys = payments.TABLES
    sums = payment_formats.totals(ds)
    everything = {"label": "Insgesamt", "cells": [sums["insgesamt"][k] for k in keys]}
    return {
        "rows": [
            {
                "monat": german_month(r["monat"]),
                "zahlungsart": r["zahlungsart"],
                "cells": [r[k] for k in keys],
            }
            for r in payment_formats.records(ds)
        ],
        "by_method": [
            *({"label": t["zahlungsart"], "cells": [t[k] for k in keys]} for t in sums["zahlungsarten"]),
            {**everything, "label": "Alle Zahlungsarten"},
        ],
        "by_month": [
            *({"label": german_month(t["monat"]), "cells": [t[k] for k in keys]} for t in sums["monate"]),
            {**everything, "label": "Alle Monate"},
        ],
    }


def _postkorb_tables(ds: postkorb.PostkorbDataset) -> list[dict[str, Any]]:
    """Per table of the Postkorb dataset: its heading, columns and rows; a suppressed value
    stays None (shown as „gesperrt“), a median not published is „–“ with its reason."""
    out = []
    for table in postkorb_formats.TABLES:
        keys = ds.nachforderungen.keys if table == postkorb_formats.NACHFORDERUNGEN else ds.bekanntgabe.keys
        median = table == postkorb_formats.NACHFORDERUNGEN

        def cells(record: dict[str, Any], keys: tuple[str, ...] = keys, median: bool = median) -> list[Any]:
            values: list[Any] = [record[k] for k in keys]
            if median:
                days = record[postkorb_formats.MEDIAN]
                values.append(_days(days) if days is not None else f"– ({record[postkorb_formats.GRUND]})")
            return values

        sums = postkorb_formats.totals(ds, table)
        everything = cells(sums["insgesamt"])
        out.append(
            {
                "id": table,
                "heading": postkorb_formats.HEADINGS[table],
                "note": postkorb.WITHHELD if postkorb_formats.group(ds, table).withheld else "",
                "measures": [
                    *(postkorb.LABELS[k][0] for k in keys),
                    *(["Tage bis zur Antwort (Median)"] if median else []),
                ],
                "rows": [
                    {"monat": german_month(r["monat"]), "leistung": r["leistung"], "cells": cells(r)}
                    for r in postkorb_formats.records(ds, table)
                ],
                "by_service": [
                    *({"label": t["leistung"], "cells": cells(t)} for t in sums["leistungen"]),
                    {"label": "Alle Leistungen", "cells": everything},
                ],
                "by_month": [
                    *({"label": german_month(t["monat"]), "cells": cells(t)} for t in sums["monate"]),
                    {"label": "Alle Monate", "cells": everything},
                ],
            }
        )
    return out


def routes(opendata: OpenData) -> list[HTTPRouteHandler]:
    @get(f"{PREFIX}/", name="opendata:home", include_in_schema=False)
    async def home() -> Template:
        datasets = [_summary(e) for e in await opendata.entries()]
        return Template(
            "home.html",
            context={"datasets": datasets, "licence": LICENCE, "publisher": PUBLISHER, "api": API},
        )

    def _file(found: Download | None) -> Response[bytes]:
        if found is None:
            raise NotFoundException("Diese Datei gibt es nicht.")
        return Response(found.data, media_type=f"{found.media_type}; charset=utf-8", headers=OPEN)

    async def _payments_page() -> Template:
        ds = await opendata.payments()
        return Template(
            "zahlungen.html",
            context={
                **_summary(payment_formats.entry(ds)),
                **_payment_tables(ds),
                "heading": payment_formats.HEADING,
                "measures": [label for label, _ in payment_formats.MEASURES.values()],
                "secrecy": payments.GEHEIMHALTUNG,
                "counting": payments.ZAEHLWEISE,
                "licence": LICENCE,
                "publisher": PUBLISHER,
                "api": API,
            },
        )

    async def _postkorb_page() -> Template:
        ds = await opendata.postkorb()
        return Template(
            "postkorb.html",
            context={
                **_summary(postkorb_formats.entry(ds)),
                "tables": _postkorb_tables(ds),
                "secrecy": postkorb.GEHEIMHALTUNG,
                "counting": postkorb.ZAEHLWEISE,
                "durations": postkorb.ANTWORTDAUER,
                "licence": LICENCE,
                "publisher": PUBLISHER,
                "api": API,
            },
        )

    @get(f"{PREFIX}/datasets/{{name:str}}", include_in_schema=False)
    async def dataset(name: FromPath[str]) -> Template | Response[bytes]:
        if name == payments.PAYMENTS_ID:
            return await _payments_page()
        if name == postkorb.POSTKORB_ID:
            return await _postkorb_page()
        stem, dot, suffix = name.rpartition(".")
        ds = await opendata.dataset(stem if dot else name)
        if ds is None:
            raise NotFoundException("Diesen Datensatz gibt es nicht.")
        if dot:  # <id>.csv, <id>.json: the counts, where links from before the tables point
            return _file(download(ds, FALLZAHLEN, suffix))
        return Template(
            "dataset.html",
            context={
                **_summary(entry(ds)),
                **_tables(ds),
                "measures": ds.definition.measures,
                "secrecy": GEHEIMHALTUNG,
                "counting": ZAEHLWEISE,
                "durations": BEARBEITUNGSDAUER,
                "licence": LICENCE,
                "publisher": PUBLISHER,
                "api": API,
            },
        )

    @get(f"{PREFIX}/datasets/{{name:str}}/{{file:str}}", include_in_schema=False)
    async def dataset_file(name: FromPath[str], file: FromPath[str]) -> Response[bytes]:
        table, _, suffix = file.partition(".")  # fallzahlen.csv, bearbeitungsdauer.json, …
        if name == payments.PAYMENTS_ID:
            return _file(payment_formats.download(await opendata.payments(), table, suffix))
        if name == postkorb.POSTKORB_ID:
            return _file(postkorb_formats.download(await opendata.postkorb(), table, suffix))
        ds = await opendata.dataset(name)
        if ds is None:
            raise NotFoundException("Diesen Datensatz gibt es nicht.")
        return _file(download(ds, table, suffix))

    @get(f"{PREFIX}/catalog.jsonld", include_in_schema=False)
    async def catalog_jsonld() -> Response[bytes]:
        data = dcat.jsonld_bytes(await opendata.entries(), opendata.base_url)
        return Response(data, media_type="application/ld+json", headers=OPEN)

    @get(f"{PREFIX}/catalog.ttl", include_in_schema=False)
    async def catalog_turtle() -> Response[str]:
        data = dcat.jsonld_bytes(await opendata.entries(), opendata.base_url)
        return Response(dcat.turtle(data), media_type="text/turtle; charset=utf-8", headers=OPEN)

    async def _action(request: Request[Any, Any, Any], action: str) -> Response[dict[str, Any]]:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            body = await request.body()
            try:
                payload = json.loads(body) if body.strip() else {}
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                error = ckan.ActionError(400, "Bad Request", "Der Inhalt ist kein JSON-Objekt.")
                status, content = ckan.failure(action, opendata.base_url, error)
                return Response(content, status_code=status, media_type=MediaType.JSON, headers=OPEN)
            params |= payload
        status, content = ckan.call(action, params, await opendata.entries(), opendata.base_url)
        return Response(content, status_code=status, media_type=MediaType.JSON, headers=OPEN)

    @route(f"{API}/{{action:str}}", http_method=["GET", "POST"])
    async def ckan_action(request: Request[Any, Any, Any], action: FromPath[str]) -> Response[dict[str, Any]]:
        """CKAN Action API: package_list, package_search, package_show, resource_show,
        help_show, status_show; parameters in the query string or as a JSON body."""
        return await _action(request, action)

    @route(f"{PREFIX}/api/action/{{action:str}}", http_method=["GET", "POST"], include_in_schema=False)
    async def ckan_action_unversioned(
        request: Request[Any, Any, Any], action: FromPath[str]
    ) -> Response[dict[str, Any]]:
        return await _action(request, action)

    return [home, dataset, dataset_file, catalog_jsonld, catalog_turtle, ckan_action, ckan_action_unversioned]

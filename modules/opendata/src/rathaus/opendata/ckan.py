"""CKAN-compatible Action API (``/api/3/action/<name>``): package_list, package_search,
package_show, resource_show, help_show, status_show, with CKAN's response shapes.

One package per catalogue entry: a service's dataset with four resources (counts and
processing times, as CSV and JSON; its extras name the service, ``leistung`` and
``leika``) and the payments dataset with two (CSV and JSON).

Pure functions over the published datasets; the web layer only reads the parameters
(query string or JSON body) and writes the response.
"""

from __future__ import annotations

import hashlib
import shlex
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rathaus.opendata.domain.catalogue import (
    CATALOGUE_DESCRIPTION,
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTRIBUTOR_ID,
    LICENCE,
    ORGANIZATION,
    PUBLISHER,
    SPATIAL,
)
from rathaus.opendata.domain.datasets import PublishedDataset
from rathaus.opendata.domain.entries import Entry
from rathaus.opendata.domain.formats import entry

NAMESPACE = uuid.UUID("6f1c3c56-9a43-4a8e-9d55-0b6f4e2d7a10")  # stable ids across restarts
SORTS = {
    "score desc, metadata_modified desc": ("metadata_modified", True),
    "metadata_modified desc": ("metadata_modified", True),
    "metadata_modified asc": ("metadata_modified", False),
    "name asc": ("name", False),
    "name desc": ("name", True),
    "title_string asc": ("title", False),
    "title_string desc": ("title", True),
}
FQ_FIELDS = ("id", "name", "tags", "res_format", "organization", "license_id")


class ActionError(Exception):
    """A CKAN error: HTTP status, CKAN's ``__type`` and a German message."""

    def __init__(self, status: int, kind: str, message: str, **fields: list[str]) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.fields = status, kind, message, fields

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "__type": self.kind, **self.fields}


def _missing(name: str) -> ActionError:
    return ActionError(409, "Validation Error", f"Angabe fehlt: {name}", **{name: ["Missing value"]})


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def ckan_time(iso: str) -> str:
    """CKAN writes naive UTC timestamps."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


def organization(created: str) -> dict[str, Any]:
    return {
        "id": stable_id("organization", ORGANIZATION),
        "name": ORGANIZATION,
        "title": PUBLISHER,
        "type": "organization",
        "description": CATALOGUE_DESCRIPTION,
        "image_url": "",
        "created": ckan_time(created),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def resources(ds: Entry, base: str) -> list[dict[str, Any]]:
    package_id = stable_id("dataset", ds.id)
    return [
        {
            "id": stable_id("resource", d.path),
            "package_id": package_id,
            "name": d.title,
            "description": d.description,
            "format": d.format,
            "mimetype": d.media_type,
            "mimetype_inner": None,
            "url": base + d.path,
            "url_type": None,
            "resource_type": None,
            "size": len(d.data),
            "hash": "sha256:" + hashlib.sha256(d.data).hexdigest(),
            "state": "active",
            "position": position,
            "created": ckan_time(ds.created),
            "last_modified": ckan_time(ds.modified),
            "metadata_modified": ckan_time(ds.modified),
            "cache_url": None,
            "cache_last_updated": None,
            "datastore_active": False,
        }
        for position, d in enumerate(ds.downloads)
    ]


def package(ds: Entry, base: str) -> dict[str, Any]:
    """A CKAN package dict (as package_show returns it)."""
    span = ds.period
    org = organization(ds.created)
    res = resources(ds, base)
    tags = [
        {"id": stable_id("tag", t), "name": t, "display_name": t, "state": "active", "vocabulary_id": None}
        for t in ds.tags
    ]
    extras = {
        "contributorID": CONTRIBUTOR_ID,
        "spatial_uri": SPATIAL,
        "themes": " ".join(ds.themes),
        **dict(ds.extras),
    }
    if span:
        extras |= {"temporal_start": span[0], "temporal_end": span[1]}
    return {
        "id": stable_id("dataset", ds.id),
        "name": ds.id,
        "title": ds.title,
        "notes": ds.notes,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": True,
        "license_id": LICENCE.id,
        "license_title": LICENCE.title,
        "license_url": LICENCE.url,
        "author": PUBLISHER,
        "author_email": None,
        "maintainer": CONTACT_NAME,
        "maintainer_email": CONTACT_EMAIL,
        "url": f"{base}/datasets/{ds.id}",
        "version": None,
        "metadata_created": ckan_time(ds.created),
        "metadata_modified": ckan_time(ds.modified),
        "owner_org": org["id"],
        "organization": org,
        "groups": [],
        "tags": tags,
        "num_tags": len(tags),
        "resources": res,
        "num_resources": len(res),
        "extras": [{"key": k, "value": v} for k, v in sorted(extras.items())],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _int(params: Mapping[str, Any], name: str, default: int, maximum: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ActionError(
            409, "Validation Error", f"{name} muss eine ganze Zahl sein.", **{name: ["Invalid integer"]}
        ) from None
    if not 0 <= value <= maximum:
        raise ActionError(
            409,
            "Validation Error",
            f"{name} muss zwischen 0 und {maximum} liegen.",
            **{name: ["Out of range"]},
        )
    return value


def _field_values(pkg: dict[str, Any], name: str) -> list[str]:
    if name == "tags":
        return [t["name"] for t in pkg["tags"]]
    if name == "res_format":
        return [r["format"] for r in pkg["resources"]]
    if name == "organization":
        return [pkg["organization"]["name"]]
    return [str(pkg[name])]


def _clause(term: str, param: str) -> tuple[str, str] | None:
    """``field:value`` -> (field, value); a plain word -> None."""
    field, sep, value = term.partition(":")
    if not sep or field in ("*", ""):
        return None
    if field not in FQ_FIELDS:
        raise ActionError(
            409,
            "Validation Error",
            f"Das Feld „{field}“ kann nicht gefiltert werden; möglich: {', '.join(FQ_FIELDS)}.",
            **{param: [f"Unknown field {field}"]},
        )
    return field, value


def _terms(text: str, param: str) -> list[str]:
    try:
        terms = [t.lstrip("+") for t in shlex.split(text) if t not in ("AND", "&&")]
    except ValueError:
        raise ActionError(
            409, "Validation Error", f"{param} ist nicht lesbar.", **{param: ["Syntax"]}
        ) from None
    if any(t in ("OR", "||", "NOT") or t.startswith("-") for t in terms):
        raise ActionError(
            409, "Validation Error", f"{param}: nur UND-Verknüpfungen.", **{param: ["Unsupported operator"]}
        )
    return [t for t in terms if t]


def _matches(pkg: dict[str, Any], q: str, fq: str) -> bool:
    haystack = " ".join(
        [
            pkg["name"],
            pkg["title"],
            pkg["notes"],
            pkg["organization"]["title"],
            *_field_values(pkg, "tags"),
            *_field_values(pkg, "res_format"),
        ]
    ).casefold()
    for param, text in (("q", q), ("fq", fq)):
        for term in _terms(text, param):
            if term == "*:*":
                continue
            clause = _clause(term, param)
            if clause is None:
                if term.casefold() not in haystack:
                    return False
            elif clause[1] != "*" and clause[1].casefold() not in (
                v.casefold() for v in _field_values(pkg, clause[0])
            ):
                return False
    return True


Action = Callable[[Mapping[str, Any], Sequence[Entry], str], Any]


def package_list(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """Names of all datasets (optional: limit, offset)."""
    names = sorted(d.id for d in datasets)
    offset = _int(params, "offset", 0, 10**6)
    limit = _int(params, "limit", len(names), 10**6)
    return names[offset : offset + limit]


def package_search(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """Search datasets: q (words or field:value), fq (field:value, AND only: id, name,
    tags, res_format, organization, license_id), rows (≤ 1000), start, sort."""
    rows, start = _int(params, "rows", 10, 1000), _int(params, "start", 0, 10**6)
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    if sort not in SORTS:
        raise ActionError(
            409, "Validation Error", f"Sortierung „{sort}“ ist nicht möglich.", sort=["Unsupported sort"]
        )
    q, fq = str(params.get("q") or "*:*"), str(params.get("fq") or "")
    hits = [p for p in (package(d, base) for d in datasets) if _matches(p, q, fq)]
    key, reverse = SORTS[sort]
    hits.sort(key=lambda p: p[key], reverse=reverse)
    return {
        "count": len(hits),
        "sort": sort,
        "facets": {},
        "search_facets": {},
        "results": hits[start : start + rows],
    }


def package_show(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """One dataset by id or name."""
    wanted = params.get("id") or params.get("name")
    if not wanted:
        raise _missing("id")
    for d in datasets:
        if wanted in (d.id, stable_id("dataset", d.id)):
            return package(d, base)
    raise ActionError(404, "Not Found Error", "Datensatz nicht gefunden.")


def resource_show(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """One resource (download) by id."""
    wanted = params.get("id")
    if not wanted:
        raise _missing("id")
    for d in datasets:
        for resource in resources(d, base):
            if resource["id"] == wanted:
                return resource
    raise ActionError(404, "Not Found Error", "Ressource nicht gefunden.")


def help_show(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """The documentation of an action."""
    name = params.get("name")
    if not name:
        raise _missing("name")
    action = ACTIONS.get(str(name))
    if action is None:
        raise ActionError(404, "Not Found Error", f"Aktion „{name}“ gibt es nicht.")
    return action.__doc__


def status_show(params: Mapping[str, Any], datasets: Sequence[Entry], base: str) -> Any:
    """What this portal is."""
    return {
        "site_title": f"{PUBLISHER}: Open Data",
        "site_description": CATALOGUE_DESCRIPTION,
        "site_url": base,
        "ckan_version": "2.10.0",
        "api_version": 3,
        "locale_default": "de",
        "extensions": [],
    }


ACTIONS: dict[str, Action] = {
    f.__name__: f for f in (package_list, package_search, package_show, resource_show, help_show, status_show)
}


def _help(base: str, name: str) -> str:
    return f"{base}/api/3/action/help_show?name={name}"


def failure(name: str, base: str, error: ActionError) -> tuple[int, dict[str, Any]]:
    """CKAN's error response for action ``name``."""
    return error.status, {"help": _help(base, name), "success": False, "error": error.body()}


def call(
    name: str, params: Mapping[str, Any], datasets: Sequence[PublishedDataset | Entry], base: str
) -> tuple[int, dict[str, Any]]:
    """Run an action over the datasets (a service's or any catalogue entry); returns the
    HTTP status and CKAN's response body."""
    action = ACTIONS.get(name)
    try:
        if action is None:
            raise ActionError(400, "Bad Request", f"Unbekannte Aktion: {name}")
        result = action(params, [entry(d) for d in datasets], base)
    except ActionError as exc:
        return failure(name, base, exc)
    return 200, {"help": _help(base, name), "success": True, "result": result}

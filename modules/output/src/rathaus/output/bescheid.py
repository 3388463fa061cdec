"""A Bescheid's HTML from its procedure version: the templates run in a Jinja sandbox (the
procedure files are data a city writes, not code we trust), with the context and the
filters docs/services.md documents.

One environment per process serves every procedure version's templates (by the names
``Definition.templates`` gives them) and the shared parts in the ``vorlagen/`` folders of
every procedure directory (the letter layout ``_brief.html``).
"""

from __future__ import annotations

import weakref
from datetime import date, datetime
from typing import Any

from jinja2 import DictLoader, Template, TemplateError, pass_context
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.output.domain import CITY, DELIVERY_TEXTS, euro, fee_cents, german_date, local_day
from rathaus.platform.kernel.procedures import Definition, Procedures
from rathaus.platform.kernel.procedures.display import flat, sections
from rathaus.platform.kernel.procedures.model import Unit


class TemplateRefused(RuntimeError):
    """A Bescheid template failed: the sandbox refused an operation, or the template is
    broken. Nothing of it was rendered further; the message names the template, never
    the case's data."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, in which a template also cannot change the data it is given (that
    data is forwarded to other authorities after rendering). Jinja returns an undefined
    value for a forbidden attribute and fails only when that value is used; here the
    access itself stops the rendering."""

    appeals: dict[str, Template]

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"Zugriff auf das Attribut {attribute!r} eines {type(obj).__name__!r} ist verboten."
        )


_environments: weakref.WeakKeyDictionary[Procedures, _Sandbox] = weakref.WeakKeyDictionary()


def environment(procedures: Procedures) -> _Sandbox:
    """The sandbox for these procedures, built once (the registry is read once per process)."""
    env = _environments.get(procedures)
    if env is None:
        env = _environments[procedures] = _build(procedures)
    return env


def _build(procedures: Procedures) -> _Sandbox:
    sources: dict[str, str] = {}
    for root in procedures.roots:  # as the loader: the first directory's part of a name wins
        for folder in sorted(root.rglob("vorlagen")):
            for file in sorted(folder.glob("*.html")):
                sources.setdefault(file.name, file.read_text(encoding="utf-8"))
    for definition in procedures.all():  # named "<id>@<version>/<file>": never a shared name
        sources.update(definition.template_sources)
    env = _Sandbox(loader=DictLoader(sources), autoescape=True)
    env.appeals = {}  # digest -> the version's Rechtsbehelfsbelehrung, compiled once
    env.filters["datum"] = german_date
    env.filters["euro"] = euro

    @pass_context
    def code(context: Context, value: Any, liste: str) -> str:
        """A code's name in a code list of the version being rendered."""
        leistung = context.get("leistung") or {}
        try:
            definition = procedures.get(leistung["id"], leistung["version"])
        except (KeyError, TypeError):
            return "" if value is None else str(value)
        return "" if value in (None, "") else definition.code_name(liste, value)

    env.filters["code"] = code
    return env


def template_name(definition: Definition, outcome: str, mode: str) -> str:
    """The version's template of this outcome; a Genehmigungsfiktion has its own."""
    key = "fiction" if mode == "fiction" and "fiction" in definition.templates else outcome
    try:
        return definition.templates[key]
    except KeyError:
        raise TemplateRefused(
            f"Version {definition.version} des Verfahrens {definition.id} hat keine Vorlage für „{key}“."
        ) from None


def context(
    definition: Definition,
    decision: DecisionMade,
    *,
    unit: Unit,
    channel: str,
    day: date,
) -> dict[str, Any]:
    """What a template can use (docs/services.md, "Templates"), without the rendered
    Rechtsbehelfsbelehrung (``render`` adds it)."""
    p = definition.procedure
    r = decision.recipient
    facts = dict(decision.facts)
    cents = fee_cents(facts, definition.fee_cents(decision.data))
    text, hinweis = DELIVERY_TEXTS[channel]
    submitted = decision.submitted_at
    return {
        "city": CITY,
        "unit": {
            "code": unit.code,
            "name": unit.name,
            "department": unit.department,
            "address": unit.address,
        },
        "recipient": {
            "person": None
            if r.person is None
            else {
                "given_name": r.person.given_name,
                "family_name": r.person.family_name,
                "birth_date": r.person.birth_date,
            },
            "organisation": None
            if r.organisation is None
            else {
                "name": r.organisation.name,
                "legal_form": r.organisation.legal_form,
                "register_number": r.organisation.register_number,
            },
            "address": None
            if r.address is None
            else {
                "street": r.address.street,
                "house_number": r.address.house_number,
                "postal_code": r.address.postal_code,
                "city": r.address.city,
            },
            "email": r.email,
        },
        "aktenzeichen": decision.aktenzeichen,
        "datum": day.isoformat(),
        "eingang": _iso_day(submitted),
        "entscheidung": {
            "outcome": decision.outcome,
            "mode": decision.mode,
            "reasons": decision.reasons,
            "decided_at": decision.decided_at,
        },
        "angaben": decision.data,
        "text": flat(definition, decision.data),
        "abschnitte": sections(definition, decision.data),
        "fakten": {**facts, "gebuehr": euro(cents / 100), "gebuehr_cent": cents},
        "leistung": {"id": p.id, "version": p.version, "title": p.title, "legal_basis": p.legal_basis},
        "zustellung": {"channel": channel, "text": text, "hinweis": hinweis},
        "fiktion": {"basis": p.decision.fiction_basis} if decision.mode == "fiction" else None,
    }


def _iso_day(value: str) -> str:
    """The city's calendar day of an ISO datetime, as an ISO date ("" stays "")."""
    if not value:
        return ""
    try:
        return local_day(datetime.fromisoformat(value)).isoformat() if len(value) > 10 else value
    except ValueError:
        return value


def render(procedures: Procedures, definition: Definition, template: str, values: dict[str, Any]) -> str:
    """The Bescheid's HTML: the Rechtsbehelfsbelehrung first (with the same context), then
    the template. Raises ``TemplateRefused``."""
    env = environment(procedures)
    name = template
    try:
        appeal = ""
        if definition.appeal_source:
            name = f"Rechtsbehelfsbelehrung „{definition.procedure.appeal}“"
            compiled = env.appeals.get(definition.digest)
            if compiled is None:
                compiled = env.appeals[definition.digest] = env.from_string(definition.appeal_source)
            appeal = compiled.render(values)
            name = template
        # the appeal text was rendered with autoescape: its output is markup already
        belehrung = Markup(appeal)  # noqa: S704
        return env.get_template(template).render({**values, "rechtsbehelfsbelehrung": belehrung})
    except SecurityError as refused:
        raise TemplateRefused(f"Die Vorlage {name} wurde in der Sandbox abgewiesen: {refused}") from None
    except TemplateError as broken:
        raise TemplateRefused(
            f"Die Vorlage {name} ließ sich nicht ausfüllen: {type(broken).__name__}: {broken.message}"
        ) from None
    except Exception as failed:  # only the type: a message might quote the case's data
        raise TemplateRefused(
            f"Die Vorlage {name} ließ sich nicht ausfüllen ({type(failed).__name__})."
        ) from None

"""Read the procedure directories, check every file, compile the procedures.

A directory may hold, anywhere below it:

- procedure versions: TOML files with ``id`` and ``version`` (``<id>/v<N>.toml`` by
  convention), their Bescheid templates beside them;
- code lists: TOML files with ``values`` (``codelisten/<id>.toml``);
- ``katalog.toml`` (services offered offline too), ``einheiten.toml`` (units),
  ``aktenplan.toml`` (the file plan), ``gebuehren.toml`` (the fee catalogue: tariffs
  with dated rates);
- ``vorlagen/``: shared template parts (the letter layout, Rechtsbehelfsbelehrungen).

Anything wrong is reported in German with the file and the place, all problems at
once; nothing is half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from rathaus.platform.kernel.procedures import model
from rathaus.platform.kernel.procedures.definition import (
    ACCOUNT_SOURCES,
    DIRECTORY_SOURCE,
    REGISTER_SOURCES,
    CompiledRule,
    Definition,
    Node,
    multiplicity,
)
from rathaus.platform.kernel.procedures.expressions import Expression, ExpressionError, Scope, check, parse

NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
SERVICE_ID = re.compile(r"[a-z][a-z0-9-]{1,62}")
MULTIPLICITY = re.compile(r"\d+:(\d+|\*)")
DATASET_ID = re.compile(r"[a-z0-9_-]{2,100}")  # a CKAN name
TAG = re.compile(r"[\w .-]{2,100}")  # what CKAN accepts as a tag
SOURCE_ATTRIBUTES = {
    "melderegister": {
        "vorname",
        "familienname",
        "geburtsdatum",
        "strasse",
        "hausnummer",
        "postleitzahl",
        "ort",
        "stadtbezirk",
        "einzugsdatum",
    },
    "fahrzeugregister": {"kennzeichen", "hersteller", "modell"},
    "konto": {"vorname", "familienname", "geburtsdatum", "email"},
    "unternehmen": {"name", "rechtsform", "registernummer", "strasse", "hausnummer", "postleitzahl", "ort"},
    DIRECTORY_SOURCE: {"stadtbezirk", "parkzone"},
}
TYPES_OF_KIND = {
    "select": {"text"},
    "label": {"text"},
}
FILE_KINDS = {"input"}


class ProcedureProblems(Exception):
    """Problems in the procedure files; ``str()`` is the German report, a line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Files:
    """What was read from the directories, before compiling."""

    procedures: list[tuple[Path, dict[str, Any]]]
    codelists: dict[str, tuple[Path, model.Codelist]]
    catalogue: list[tuple[Path, model.CatalogueEntry]]
    units: dict[str, model.Unit]
    plan: dict[str, model.PlanEntry]
    shared_templates: dict[str, Path]  # name -> file in a vorlagen/ directory
    tariffs: dict[str, tuple[Path, model.Tariff]] = field(default_factory=dict)


def place(path: Path, roots: Iterable[Path]) -> str:
    for root in roots:
        try:
            return str(path.relative_to(root.parent))
        except ValueError:
            continue
    return str(path)


def german(error: msgspec.ValidationError) -> str:
    """msgspec's message in German, with the place (``$.form[3].kind``) kept."""
    text = str(error)
    where = ""
    if " - at `" in text:
        text, _, where = text.partition(" - at `")
        where = where.rstrip("`").removeprefix("$")
        where = f" (bei {where.lstrip('.')})" if where else ""
    if found := re.fullmatch(r"Object contains unknown field `(.+)`", text):
        return f"Das Feld „{found[1]}“ gibt es hier nicht{where}."
    if found := re.fullmatch(r"Object missing required field `(.+)`", text):
        return f"Die Angabe „{found[1]}“ fehlt{where}."
    if found := re.fullmatch(r"Expected `(.+)`, got `(.+)`", text):
        return f"Hier wird {found[1]} erwartet, nicht {found[2]}{where}."
    return f"{text}{where}"


def read(roots: list[Path]) -> tuple[Files, list[str]]:
    files = Files([], {}, [], {}, {}, {})
    problems: list[str] = []
    for root in roots:
        if not root.is_dir():
            problems.append(f"{root}: Das Verzeichnis der Verfahren gibt es nicht.")
            continue
        for path in sorted(root.rglob("*.toml")):
            where = place(path, roots)
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                problems.append(f"{where}: Die Datei ist kein gültiges TOML ({error}).")
                continue
            try:
                _classify(files, path, raw, where, problems)
            except msgspec.ValidationError as error:
                problems.append(f"{where}: {german(error)}")
        for folder in sorted(root.rglob("vorlagen")):
            for template in sorted(folder.glob("*.html")):
                files.shared_templates.setdefault(template.name, template)
    return files, problems


def _classify(files: Files, path: Path, raw: dict[str, Any], where: str, problems: list[str]) -> None:
    if path.name == "standorte.toml":
        return  # appointment locations: read by rathaus.platform.kernel.appointments
    if path.name == "katalog.toml":
        for entry in msgspec.convert(raw.get("leistungen", []), list[model.CatalogueEntry]):
            files.catalogue.append((path, entry))
    elif path.name == "einheiten.toml":
        for unit in msgspec.convert(raw.get("einheiten", []), list[model.Unit]):
            files.units[unit.code] = unit
    elif path.name == "gebuehren.toml":
        for tariff in msgspec.convert(raw.get("tarife", []), list[model.Tariff]):
            if tariff.id in files.tariffs:
                problems.append(f"{where}: Den Tarif „{tariff.id}“ gibt es schon.")
            files.tariffs[tariff.id] = (path, tariff)
            for problem in tariff_problems(tariff):
                problems.append(f"{where}, Tarif {tariff.id}: {problem}")
    elif path.name == "aktenplan.toml":
        for plan_entry in msgspec.convert(raw.get("eintraege", []), list[model.PlanEntry]):
            files.plan[plan_entry.code] = plan_entry
            for problem in plan_entry_problems(plan_entry):
                problems.append(f"{where}, Eintrag {plan_entry.code}: {problem}")
    elif "values" in raw and "id" in raw:
        codelist = msgspec.convert(raw, model.Codelist)
        if codelist.id in files.codelists:
            problems.append(f"{where}: Die Codeliste „{codelist.id}“ gibt es schon.")
        files.codelists[codelist.id] = (path, codelist)
    elif "id" in raw and "version" in raw:
        files.procedures.append((path, raw))
    else:
        problems.append(
            f"{where}: Unbekannte Datei: weder ein Verfahren (id, version) noch eine Codeliste "
            "(id, values) noch katalog.toml, einheiten.toml, aktenplan.toml oder gebuehren.toml."
        )


STAFF_AIDS = ("routes",)  # procedure keys outside a version's digest
AUSSONDERUNGSARTEN = ("A", "B", "V")  # archivwürdig, bewerten, vernichten (xdomea)
UNLIMITED = "unbefristet"


def plan_entry_problems(entry: model.PlanEntry) -> list[str]:
    """What is wrong with the records fields of a file-plan entry, in German."""
    problems = []
    if entry.aussonderungsart and entry.aussonderungsart not in AUSSONDERUNGSARTEN:
        problems.append(
            f"Aussonderungsart „{entry.aussonderungsart}“ ist keine von A (archivwürdig), "
            "B (bewerten), V (vernichten)."
        )
    keep = entry.aufbewahrung
    if keep and keep != UNLIMITED and not (keep.isdigit() and 0 < int(keep) <= 200):
        problems.append(f"Aufbewahrung „{keep}“ ist keine Zahl von Jahren (1–200) und nicht „{UNLIMITED}“.")
    for name in ("gueltig_ab", "gueltig_bis"):
        value = getattr(entry, name)
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                problems.append(f"{name} „{value}“ ist kein Datum (JJJJ-MM-TT).")
    if entry.gueltig_ab and entry.gueltig_bis and entry.gueltig_bis < entry.gueltig_ab:
        problems.append("gueltig_bis liegt vor gueltig_ab.")
    return problems


def tariff_problems(tariff: model.Tariff) -> list[str]:
    """What is wrong with an entry of the fee catalogue, in German."""
    problems = []
    if not SERVICE_ID.fullmatch(tariff.id):
        problems.append(f"„{tariff.id}“ ist keine gültige Kennung (Kleinbuchstaben, Ziffern, Bindestrich).")
    for key, label in (
        ("text", "Text"),
        ("haushaltsstelle", "Haushaltsstelle"),
        ("objektnummer", "Objektnummer"),
    ):
        if not getattr(tariff, key).strip():
            problems.append(f"Die Angabe „{key}“ ({label}) fehlt.")
    if not tariff.rates:
        problems.append("Der Tarif braucht mindestens einen Satz (rates: Datum = Cent).")
    for start, cents in tariff.rates.items():
        try:
            date.fromisoformat(start)
        except ValueError:
            problems.append(f"„{start}“ ist kein Datum (JJJJ-MM-TT), ab dem ein Satz gilt.")
        if cents < 0:
            problems.append(f"Der Satz ab {start} ist negativ.")
    return problems


def rates_of(tariff: model.Tariff) -> tuple[tuple[date, int], ...]:
    """The dated rates, oldest first; a rate with a broken date is left out (reported with the tariff)."""
    out = []
    for start, cents in tariff.rates.items():
        try:
            out.append((date.fromisoformat(start), cents))
        except ValueError:
            continue
    return tuple(sorted(out))


class Compiler:
    """Checks one procedure file and compiles it; collects every problem it finds."""

    def __init__(self, files: Files, path: Path, raw: dict[str, Any], where: str) -> None:
        self.files, self.path, self.raw, self.where = files, path, raw, where
        self.problems: list[str] = []

    def problem(self, at: str, message: str) -> None:
        self.problems.append(f"{self.where}, {at}: {message}" if at else f"{self.where}: {message}")

    def compile(self) -> Definition | None:
        try:
            proc = msgspec.convert(self.raw, model.Procedure)
        except msgspec.ValidationError as error:
            self.problem("", german(error))
            return None
        self._procedure(proc)
        nodes, steps = self._form(proc)
        if nodes is None:
            return None
        scope_of = self._scopes(proc, nodes)
        nodes = {name: self._expressions(proc, node, scope_of) for name, node in nodes.items()}
        rules = self._rules(proc, nodes, scope_of)
        automatic_if = self._parsed("decision.automatic_if", proc.decision.automatic_if, scope_of[""])
        order = self._order(nodes)
        templates, sources, appeal = self._templates(proc)
        self._sections(proc, nodes)
        quantities = self._fee_lines(proc, scope_of[""])
        tariffs = {
            name: self.files.tariffs[name][1]
            for name in self._tariffs_named(proc)
            if name in self.files.tariffs
        }
        self._rates_valid(proc, tariffs)
        if self.problems:
            return None
        codelists = {
            n.element.codelist: self.files.codelists[n.element.codelist][1]
            for n in nodes.values()
            if n.element.codelist
        }
        for name in self._codelists_named(proc):
            codelists[name] = self.files.codelists[name][1]
        return Definition(
            procedure=proc,
            path=self.path,
            digest=self._digest(sources, appeal, codelists),
            nodes=nodes,
            steps=steps,
            rules=rules,
            order=order,
            codelists=codelists,
            constants={k: Decimal(str(v)) if isinstance(v, float) else v for k, v in proc.constants.items()},
            templates=templates,
            template_sources=sources,
            appeal_source=appeal,
            automatic_if=automatic_if,
            tariffs=tariffs,
            rates={name: rates_of(t) for name, t in tariffs.items()},
            fee_quantities=quantities,
        )

    # -- the procedure as a whole --------------------------------------------------------------

    def _procedure(self, proc: model.Procedure) -> None:
        if not SERVICE_ID.fullmatch(proc.id):
            self.problem(
                "id", f"„{proc.id}“ ist keine gültige Kennung (Kleinbuchstaben, Ziffern, Bindestrich)."
            )
        if proc.version < 1:
            self.problem("version", "Die Version muss eine ganze Zahl ab 1 sein.")
        if proc.leika and not re.fullmatch(r"\d{14}", proc.leika):
            self.problem("leika", f"„{proc.leika}“ ist kein LeiKa-Schlüssel (14 Ziffern).")
        for key in ("valid_from", "valid_until"):
            value = getattr(proc, key)
            if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                self.problem(key, f"„{value}“ ist kein Datum (JJJJ-MM-TT).")
        self._choice("assurance", proc.assurance, model.ASSURANCE)
        for applicant in proc.applicants:
            self._choice("applicants", applicant, model.APPLICANTS)
        if not proc.applicants:
            self.problem("applicants", "Mindestens eine Art von Antragstellenden ist nötig.")
        self._choice("decision.mode", proc.decision.mode, model.DECISION_MODES)
        self._choice("fee.payment", proc.fee.payment, model.PAYMENT)
        self._choice("delivery.channel", proc.delivery.channel, model.CHANNELS)
        if self.files.units and proc.unit not in self.files.units:
            self.problem("unit", f"Die Organisationseinheit „{proc.unit}“ steht nicht in einheiten.toml.")
        for unit in proc.decision.cosign:
            if self.files.units and unit not in self.files.units:
                self.problem(
                    "decision.cosign", f"Die Organisationseinheit „{unit}“ steht nicht in einheiten.toml."
                )
        if self.files.plan and proc.aktenplan not in self.files.plan:
            self.problem(
                "aktenplan", f"Der Aktenplan-Eintrag „{proc.aktenplan}“ steht nicht in aktenplan.toml."
            )
        if proc.decision.mode == "automatic" and proc.decision.cosign:
            self.problem("decision", "Ein automatisch entschiedenes Verfahren kann keine Mitzeichnung haben.")
        if proc.decision.fiction_days and not proc.decision.fiction_basis:
            self.problem("decision.fiction_basis", "Eine Genehmigungsfiktion braucht ihre Rechtsgrundlage.")
        self._routes(proc)

    def _routes(self, proc: model.Procedure) -> None:
        """Route templates (Muster für Verfügung): known kinds, units and levels; one final
        sign-off (Schlusszeichnung) alone in the last step; every co-signing unit asked."""
        seen: set[str] = set()
        for r, route in enumerate(proc.routes):
            at = f"routes[{r}]"
            if not SERVICE_ID.fullmatch(route.id):
                self.problem(f"{at}.id", f"„{route.id}“ ist keine gültige Kennung einer Vorlage.")
            if route.id in seen:
                self.problem(f"{at}.id", f"Die Vorlage „{route.id}“ gibt es in diesem Verfahren zweimal.")
            seen.add(route.id)
            if not route.title.strip():
                self.problem(f"{at}.title", "Eine Vorlage braucht einen Titel.")
            if not route.steps:
                self.problem(f"{at}.steps", f"Die Vorlage „{route.id}“ hat keine Schritte.")
                continue
            for s, step in enumerate(route.steps):
                where = f"{at}.steps[{s}]"
                if step.number < 1:
                    self.problem(f"{where}.number", "Die Nummer eines Schritts ist eine ganze Zahl ab 1.")
                self._choice(f"{where}.kind", step.kind, model.ROUTE_STEP_KINDS)
                self._choice(f"{where}.role", step.role, model.ROUTE_ROLES)
                if step.unit and self.files.units and step.unit not in self.files.units:
                    self.problem(
                        f"{where}.unit",
                        f"Die Organisationseinheit „{step.unit}“ steht nicht in einheiten.toml.",
                    )
                if step.due_days < 0:
                    self.problem(f"{where}.due_days", "Die Frist eines Schritts kann nicht negativ sein.")
            finals = [step for step in route.steps if step.kind == "schlusszeichnung"]
            last = max(step.number for step in route.steps)
            if len(finals) > 1:
                self.problem(f"{at}.steps", f"Die Vorlage „{route.id}“ hat mehr als eine Schlusszeichnung.")
            elif finals and (
                finals[0].number != last or sum(1 for step in route.steps if step.number == last) > 1
            ):
                self.problem(
                    f"{at}.steps",
                    f"In der Vorlage „{route.id}“ muss die Schlusszeichnung der letzte Schritt sein, allein.",
                )
            cosigning = {step.unit for step in route.steps if step.kind == "mitzeichnung"}
            for unit in proc.decision.cosign:
                if unit not in cosigning:
                    self.problem(
                        f"{at}.steps",
                        f"Die Vorlage „{route.id}“ lässt die Mitzeichnung durch „{unit}“ aus "
                        "(decision.cosign).",
                    )

    def _choice(self, at: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            self.problem(at, f"„{value}“ ist nicht erlaubt. Erlaubt: {', '.join(allowed)}.")

    # -- the form -----------------------------------------------------------------------------

    def _form(self, proc: model.Procedure) -> tuple[dict[str, Node] | None, tuple[str, ...]]:
        elements: dict[str, model.Element] = {}
        children: dict[str, list[str]] = {}
        steps: list[str] = []
        structural = 0  # problems of the tree itself: then nothing below it can be checked
        for i, e in enumerate(proc.form):
            at = f"form[{i}] ({e.name})"
            if not NAME.fullmatch(e.name):
                self.problem(
                    at, f"„{e.name}“ ist kein gültiger Name (Kleinbuchstaben, Ziffern, Unterstrich)."
                )
                structural += 1
                continue
            if e.name in elements:
                self.problem(at, f"Den Namen „{e.name}“ gibt es im Formular schon.")
                structural += 1
                continue
            if e.name in proc.constants:
                self.problem(at, f"„{e.name}“ ist auch der Name einer Konstante.")
            self._element(at, e)
            elements[e.name] = e
            if not e.parent:
                if e.kind != "group":
                    self.problem(at, "Ein Feld muss in einer Gruppe stehen (parent).")
                    structural += 1
                else:
                    steps.append(e.name)
            else:
                children.setdefault(e.parent, []).append(e.name)
        for i, e in enumerate(proc.form):
            if e.parent and (e.parent not in elements or elements[e.parent].kind != "group"):
                self.problem(f"form[{i}] ({e.name})", f"Die Gruppe „{e.parent}“ gibt es nicht.")
                structural += 1
        if not steps:
            self.problem("form", "Das Formular braucht mindestens eine Gruppe.")
            structural += 1
        if structural:
            return None, ()
        nodes: dict[str, Node] = {}

        def build(name: str, repeating: str, depth: int) -> None:
            e = elements[name]
            low, high = multiplicity(e.multiplicity) if MULTIPLICITY.fullmatch(e.multiplicity) else (1, 1)
            node = Node(e, low, high, tuple(children.get(name, ())), repeating)
            nodes[name] = node
            inner = name if node.repeats else repeating
            if node.repeats and repeating:
                self.problem(
                    f"form ({name})",
                    "Wiederholbare Gruppen in wiederholbaren Gruppen werden nicht unterstützt.",
                )
            if node.is_file and repeating:
                self.problem(f"form ({name})", "Dateien in wiederholbaren Gruppen werden nicht unterstützt.")
            if depth > 8:
                self.problem(f"form ({name})", "Die Gruppen sind zu tief verschachtelt.")
                return
            for child in node.children:
                build(child, inner, depth + 1)

        for step in steps:
            build(step, "", 0)
        for name in elements.keys() - nodes.keys():
            self.problem(f"form ({name})", "Das Element hängt an keiner Gruppe des Formulars (Kreis?).")
        for step in steps:
            if nodes.get(step) is not None and nodes[step].repeats:
                self.problem(
                    f"form ({step})", "Eine Seite des Formulars (oberste Gruppe) kann sich nicht wiederholen."
                )
        return nodes, tuple(steps)

    def _element(self, at: str, e: model.Element) -> None:
        self._choice(f"{at}.kind", e.kind, model.KINDS)
        self._choice(f"{at}.datatype", e.datatype, model.DATATYPES)
        if not MULTIPLICITY.fullmatch(e.multiplicity):
            self.problem(at, f"„{e.multiplicity}“ ist keine Anzahl wie 0:1, 1:1 oder 0:*.")
        else:
            low, high = multiplicity(e.multiplicity)
            if high is not None and (high < 1 or low > high):
                self.problem(at, f"Die Anzahl „{e.multiplicity}“ ist widersprüchlich.")
            if e.kind != "group" and high != 1:
                self.problem(at, "Nur Gruppen können sich wiederholen; ein Feld hat die Anzahl 0:1 oder 1:1.")
        if e.kind == "group":
            if not e.label:
                self.problem(at, "Eine Gruppe braucht eine Überschrift (label).")
        elif e.kind == "label":
            if not e.text:
                self.problem(at, "Ein Hinweistext (label) braucht einen Text (text).")
        elif not e.label:
            self.problem(at, "Ein Feld braucht eine Beschriftung (label).")
        if e.kind == "select":
            if not e.codelist:
                self.problem(at, "Eine Auswahl braucht eine Codeliste (codelist).")
            elif e.codelist not in self.files.codelists:
                self.problem(at, f"Die Codeliste „{e.codelist}“ gibt es nicht.")
            if e.datatype != "text":
                self.problem(at, "Eine Auswahl hat den Datentyp text (der Code).")
        elif e.codelist:
            self.problem(at, "Nur eine Auswahl (select) hat eine Codeliste.")
        if e.datatype == "file" and e.kind not in FILE_KINDS:
            self.problem(at, 'Eine Datei wird mit kind = "input" hochgeladen.')
        if e.pattern:
            try:
                re.compile(e.pattern)
            except re.error as error:
                self.problem(at, f"Das Muster (pattern) ist kein gültiger regulärer Ausdruck: {error}.")
            if not e.pattern_message:
                self.problem(at, "Zu einem Muster (pattern) gehört eine Meldung (pattern_message).")
        if e.prefill:
            source, _, attribute = e.prefill.partition(".")
            if attribute not in SOURCE_ATTRIBUTES.get(source, set()):
                known = ", ".join(
                    f"{s}.{a}" for s, attrs in sorted(SOURCE_ATTRIBUTES.items()) for a in sorted(attrs)
                )
                self.problem(at, f"Die Quelle „{e.prefill}“ gibt es nicht. Es gibt: {known}.")
            self._choice(f"{at}.prefill_mode", e.prefill_mode, ("optional", "required"))
            if e.prefill_mode == "required" and source not in REGISTER_SOURCES:
                self.problem(at, "Nur Registerdaten können verpflichtend vorbefüllt werden.")
        if e.kind in ("hidden", "locked") and not (e.compute or e.prefill):
            self.problem(
                at,
                f"Ein Feld der Art „{e.kind}“ braucht einen berechneten Wert (compute) oder eine Quelle (prefill).",
            )
        if e.compute and e.kind not in ("hidden", "locked"):
            self.problem(at, "Ein berechneter Wert steht in einem Feld der Art hidden oder locked.")
        from_directory = e.prefill.startswith(DIRECTORY_SOURCE + ".")
        if (
            e.kind == "locked"
            and e.prefill
            and e.prefill_mode != "required"
            and not (e.compute or from_directory)
        ):
            self.problem(
                at,
                'Ein gesperrtes Feld mit Quelle wird verpflichtend vorbefüllt (prefill_mode = "required").',
            )

    def _scopes(self, proc: model.Procedure, nodes: dict[str, Node]) -> dict[str, Scope]:
        """For each repeating group (and "" for the top level): the names readable there."""
        top = frozenset(n.name for n in nodes.values() if n.holds_value and not n.repeating_group)
        groups = {
            g.name: frozenset(n.name for n in nodes.values() if n.holds_value and n.repeating_group == g.name)
            for g in nodes.values()
            if g.repeats
        }
        constants = frozenset(proc.constants)
        codelists = frozenset(self.files.codelists)
        tariffs = frozenset(self.files.tariffs)
        scopes = {"": Scope(top, groups, constants, codelists=codelists, tariffs=tariffs)}
        for group, names in groups.items():
            scopes[group] = Scope(
                top | names, groups, constants, in_row=True, codelists=codelists, tariffs=tariffs
            )
        return scopes

    def _parsed(self, at: str, text: str | int | float | None, scope: Scope) -> Expression | None:
        if text is None or text == "":
            return None
        try:
            expr = parse(text)
            check(expr, scope)
        except ExpressionError as error:
            self.problem(at, str(error))
            return None
        return expr

    def _expressions(self, proc: model.Procedure, node: Node, scopes: dict[str, Scope]) -> Node:
        e = node.element
        scope = scopes[node.repeating_group]
        at = f"form ({e.name})"
        compiled = {
            "visible_if": self._parsed(f"{at}.visible_if", e.visible_if, scope),
            "required_if": self._parsed(f"{at}.required_if", e.required_if, scope),
            "compute": self._parsed(f"{at}.compute", e.compute, scope),
            "min_value": self._parsed(f"{at}.min_value", e.min_value, scope),
            "max_value": self._parsed(f"{at}.max_value", e.max_value, scope),
        }
        if compiled["compute"] is not None and e.name in compiled["compute"].names():
            self.problem(f"{at}.compute", "Ein berechneter Wert kann nicht von sich selbst abhängen.")
        return Node(**{**node.__dict__, **compiled})

    def _rules(
        self, proc: model.Procedure, nodes: dict[str, Node], scopes: dict[str, Scope]
    ) -> tuple[CompiledRule, ...]:
        out = []
        for i, rule in enumerate(proc.rules):
            at = f"rules[{i}]" + (f" ({rule.id})" if rule.id else "")
            self._choice(f"{at}.severity", rule.severity, ("error", "warning"))
            if rule.group and (rule.group not in nodes or not nodes[rule.group].repeats):
                self.problem(at, f"„{rule.group}“ ist keine wiederholbare Gruppe.")
                continue
            for name in rule.fields:
                if name not in nodes:
                    self.problem(at, f"Das Feld „{name}“ gibt es nicht.")
            if not rule.message.strip():
                self.problem(at, "Eine Regel braucht eine Meldung (message).")
            expr = self._parsed(f"{at}.check", rule.check, scopes[rule.group])
            if expr is not None:
                out.append(
                    CompiledRule(expr, rule.message, rule.severity, tuple(rule.fields), rule.group, rule.id)
                )
        return tuple(out)

    def _order(self, nodes: dict[str, Node]) -> tuple[str, ...]:
        """Computed fields sorted so that each comes after the computed fields it reads."""
        computed = {n.name: n for n in nodes.values() if n.compute is not None}
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                self.problem(
                    f"form ({name})",
                    f"Die berechneten Werte hängen im Kreis voneinander ab: {' → '.join([*trail, name])}.",
                )
                return
            state[name] = 1
            node = computed[name]
            assert node.compute is not None
            for used in sorted(node.compute.names() & computed.keys()):
                visit(used, [*trail, name])
            state[name] = 2
            order.append(name)

        for name in computed:
            visit(name, [])
        return tuple(order)

    def _templates(self, proc: model.Procedure) -> tuple[dict[str, str], dict[str, str], str]:
        outcomes = {"granted", "refused"} if proc.decision.refusable else {"granted"}
        if proc.decision.fiction_days:
            outcomes.add("fiction")
        names: dict[str, str] = {}
        sources: dict[str, str] = {}
        for outcome, text in proc.template_texts.items():
            name = f"{proc.id}@{proc.version}/{outcome}.html"
            names[outcome], sources[name] = name, text
        for outcome, file in proc.templates.items():
            if outcome in names:
                self.problem(f"templates.{outcome}", "Die Vorlage steht schon in template_texts.")
                continue
            path = (self.path.parent / file).resolve()
            if not path.is_relative_to(self.path.parent.resolve()) or not path.is_file():
                self.problem(
                    f"templates.{outcome}", f"Die Vorlage „{file}“ gibt es neben der Verfahrensdatei nicht."
                )
                continue
            name = f"{proc.id}@{proc.version}/{file}"
            names[outcome], sources[name] = name, path.read_text(encoding="utf-8")
        for outcome in sorted(set(names) - {"granted", "refused", "fiction"}):
            self.problem(f"templates.{outcome}", "Vorlagen gibt es für granted, refused und fiction.")
        for outcome in sorted(outcomes - set(names)):
            if outcome == "fiction" and "granted" in names:
                names["fiction"] = names["granted"]
                continue
            self.problem("templates", f"Die Vorlage für „{outcome}“ fehlt.")
        appeal = ""
        if proc.appeal:
            shared = self.files.shared_templates.get(f"{proc.appeal}.html")
            if shared is None:
                self.problem(
                    "appeal", f"Die Rechtsbehelfsbelehrung „{proc.appeal}“ gibt es in vorlagen/ nicht."
                )
            else:
                appeal = shared.read_text(encoding="utf-8")
        for name, source in sources.items():
            self._template_syntax(name, source)
        return names, sources, appeal

    def _template_syntax(self, name: str, source: str) -> None:
        from jinja2 import TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        try:
            SandboxedEnvironment().parse(source)
        except TemplateSyntaxError as error:
            self.problem(f"Vorlage {name}", f"Zeile {error.lineno}: {error.message}")

    def _sections(self, proc: model.Procedure, nodes: dict[str, Node]) -> None:
        fee = proc.fee
        if fee.field and (fee.field not in nodes or nodes[fee.field].element.datatype != "num_currency"):
            self.problem("fee.field", f"„{fee.field}“ ist kein Feld mit dem Datentyp num_currency.")
        if proc.address is not None:
            for key in ("street", "house_number", "postal_code"):
                name = getattr(proc.address, key)
                if name not in nodes or nodes[name].repeating_group or not nodes[name].holds_value:
                    self.problem(
                        f"address.{key}", f"„{name}“ ist kein Feld außerhalb wiederholbarer Gruppen."
                    )
        for i, forward in enumerate(proc.forward):
            for name in forward.fields:
                if name not in nodes or not nodes[name].holds_value:
                    self.problem(f"forward[{i}]", f"Das Feld „{name}“ gibt es nicht.")
        for n in nodes.values():
            if n.element.prefill.startswith(DIRECTORY_SOURCE + ".") and proc.address is None:
                self.problem(f"form ({n.name})", "Werte aus dem Straßenverzeichnis brauchen [address].")
        uses_accounts = {n.element.prefill.split(".", 1)[0] for n in nodes.values() if n.element.prefill}
        if "unternehmen" in uses_accounts & set(ACCOUNT_SOURCES) and "organisation" not in proc.applicants:
            self.problem("applicants", "Daten des Unternehmens gibt es nur, wenn Unternehmen Antrag stellen.")
        if any(n.element.prefill.split(".", 1)[0] in REGISTER_SOURCES for n in nodes.values()) and not (
            proc.purpose and proc.legal_basis
        ):
            self.problem(
                "purpose",
                "Registerdaten brauchen einen Zweck (purpose) und eine Rechtsgrundlage (legal_basis).",
            )
        if proc.open_data is None:
            self.problem("open_data", "Jede Leistung veröffentlicht ihre Fallzahlen: [open_data] fehlt.")
        else:
            if not DATASET_ID.fullmatch(proc.open_data.dataset):
                self.problem(
                    "open_data.dataset",
                    f"„{proc.open_data.dataset}“ ist keine gültige Kennung eines Datensatzes "
                    "(2 bis 100 Kleinbuchstaben, Ziffern, - oder _).",
                )
            for theme in proc.open_data.themes:
                self._choice("open_data.themes", theme, model.EU_THEMES)
            for tag in proc.open_data.tags:
                if not TAG.fullmatch(tag):
                    self.problem(
                        "open_data.tags",
                        f"Das Schlagwort „{tag}“ geht nicht (2 bis 100 Buchstaben, Ziffern, Leerzeichen, - _ oder .).",
                    )

    def _fee_lines(self, proc: model.Procedure, scope: Scope) -> tuple[tuple[model.FeeLine, Expression], ...]:
        fee = proc.fee
        if fee.lines and fee.cents:
            self.problem(
                "fee", "Eine Gebühr hat entweder Buchungszeilen (lines) oder einen festen Betrag (cents)."
            )
        out = []
        for i, line in enumerate(fee.lines):
            at = f"fee.lines[{i}]"
            if line.tariff not in self.files.tariffs:
                self.problem(
                    at, f"Den Tarif „{line.tariff}“ gibt es im Gebührenverzeichnis (gebuehren.toml) nicht."
                )
                continue
            expr = self._parsed(f"{at}.quantity", line.quantity, scope)
            if expr is not None:
                out.append((line, expr))
        return tuple(out)

    def _tariffs_named(self, proc: model.Procedure) -> set[str]:
        """Tariffs the fee lines and the expressions (tarif("…")) use."""
        named = {line.tariff for line in proc.fee.lines}
        texts = (
            [e.compute for e in proc.form] + [e.visible_if for e in proc.form] + [r.check for r in proc.rules]
        )
        texts += [str(line.quantity) for line in proc.fee.lines]
        for text in texts:
            named |= set(re.findall(r"tarif\(\s*[\"']([^\"']+)[\"']", text or ""))
        return named

    def _rates_valid(self, proc: model.Procedure, tariffs: dict[str, model.Tariff]) -> None:
        """Each tariff the procedure uses has a rate on the first day it is offered."""
        try:
            first = date.fromisoformat(proc.valid_from) if proc.valid_from else None
        except ValueError:
            return  # reported with valid_from
        for name, tariff in sorted(tariffs.items()):
            rates = rates_of(tariff)
            if first is not None and not any(start <= first for start, _ in rates):
                self.problem(
                    "fee",
                    f"Der Tarif „{name}“ hat am {first:%d.%m.%Y} (valid_from des Verfahrens) noch keinen Satz.",
                )

    def _codelists_named(self, proc: model.Procedure) -> set[str]:
        """Code lists the expressions read with codewert("…", …)."""
        named: set[str] = set()
        texts = [e.visible_if for e in proc.form] + [e.required_if for e in proc.form]
        texts += [e.compute for e in proc.form] + [r.check for r in proc.rules]
        texts += [proc.decision.automatic_if]
        for text in texts:
            named |= set(re.findall(r"codewert\(\s*[\"']([^\"']+)[\"']", text or ""))
        return {n for n in named if n in self.files.codelists}

    def _digest(self, sources: dict[str, str], appeal: str, codelists: dict[str, model.Codelist]) -> str:
        """What a case's version stands for: the file, its templates, its appeal text, its code
        lists. Not the staff's route templates (Muster für Verfügung): they guide the office's
        work, not what the applicant applied for, and may change while cases run."""
        body = {
            "procedure": {k: v for k, v in self.raw.items() if k not in STAFF_AIDS},
            "templates": sources,
            "appeal": appeal,
            "codelists": {k: msgspec.to_builtins(v) for k, v in sorted(codelists.items())},
        }
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def compile_all(roots: list[Path]) -> tuple[Files, list[Definition], list[str]]:
    files, problems = read(roots)
    definitions: list[Definition] = []
    seen: dict[tuple[str, int], Path] = {}
    for path, raw in files.procedures:
        where = place(path, roots)
        compiler = Compiler(files, path, raw, where)
        definition = compiler.compile()
        problems += compiler.problems
        if definition is None:
            continue
        key = (definition.id, definition.version)
        if key in seen:
            problems.append(
                f"{where}: Version {definition.version} von „{definition.id}“ gibt es schon in {seen[key]}."
            )
            continue
        seen[key] = path
        definitions.append(definition)
    newest: dict[str, Definition] = {}
    for definition in sorted(definitions, key=lambda d: d.version):
        if definition.procedure.open_data is not None:
            newest[definition.id] = definition
    publisher: dict[str, str] = {}
    for service_id, definition in sorted(newest.items()):
        assert definition.procedure.open_data is not None
        dataset = definition.procedure.open_data.dataset
        if dataset in publisher:
            problems.append(
                f"{place(definition.path, roots)}, open_data.dataset: Den Datensatz „{dataset}“ "
                f"veröffentlicht schon die Leistung „{publisher[dataset]}“."
            )
        publisher.setdefault(dataset, service_id)
    catalogue_ids = [entry.id for _, entry in files.catalogue]
    for duplicate in sorted({i for i in catalogue_ids if catalogue_ids.count(i) > 1}):
        problems.append(f"katalog.toml: Die Leistung „{duplicate}“ steht mehrfach im Katalog.")
    return files, definitions, problems

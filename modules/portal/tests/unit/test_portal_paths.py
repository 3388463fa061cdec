"""The portal's two ways in accept and refuse exactly the same applications: the HTML form
(pages posted as strings, read into the draft by the portal) and the JSON API (cleaned,
checked against the version's JSON Schema, then judged). Property-based, on the real
Hundesteuer form: a repeating group of dogs, selects, dates, numbers, a checkbox and
fields that appear only for an Anmeldung or an Abmeldung."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathaus.platform.kernel.procedures import Definition, Inputs, Procedures, judge
from rathaus.portal.domain import api_errors, read_page
from rathaus.portal.domain.api import cleaned, verdict

HUNDE = Procedures.load().get("hundesteuer", 1)
TODAY = date.today()
BREEDS = [c.code for c in HUNDE.codelists["hunderassen"].values]
REASONS = [c.code for c in HUNDE.codelists["hund_abmeldegrund"].values]
NAMES = st.text(alphabet="AEKLMNOabelmnoräüß-", min_size=1, max_size=14).map(str.strip).filter(bool)
PAST = st.dates(min_value=date(1950, 1, 1), max_value=TODAY - timedelta(days=1))
ANY_DAY = st.one_of(st.none(), st.dates(min_value=date(1890, 1, 1), max_value=TODAY + timedelta(days=90)))
NORMAL_BREEDS = [c.code for c in HUNDE.codelists["hunderassen"].values if not c.extra.get("listenhund")]

registered = st.fixed_dictionaries(  # a dog as an Anmeldung has it, right
    {
        "hundename": NAMES,
        "rasse": st.sampled_from(NORMAL_BREEDS),
        "wurftag": st.one_of(st.none(), PAST),
        "haltung_seit": PAST,
    }
)
deregistered = st.fixed_dictionaries(  # a dog as an Abmeldung has it, right
    {
        "hundename": NAMES,
        "rasse": st.sampled_from(NORMAL_BREEDS),
        "abmeldedatum": PAST,
        "abmeldegrund": st.sampled_from([r for r in REASONS if r != "abgabe"]),
    }
)
person = {
    "vorname": NAMES,
    "familienname": NAMES,
    "geburtsdatum": PAST,
    "strasse": st.sampled_from(["Zenettistraße", "  Lindwurmstr. "]),
    "hausnummer": st.sampled_from(["12", "12a"]),
    "postleitzahl": st.sampled_from(["80337", "81369"]),
}
VALID = st.one_of(
    st.fixed_dictionaries(
        {
            "art": st.just("anmeldung"),
            **person,
            "bereits_gemeldet": st.integers(min_value=0, max_value=3),
            "hunde": st.lists(registered, min_size=1, max_size=5),
        }
    ),
    st.fixed_dictionaries(
        {"art": st.just("abmeldung"), **person, "hunde": st.lists(deregistered, min_size=1, max_size=5)}
    ),
)
any_dog = st.fixed_dictionaries(  # anything a person might enter for a dog, right or wrong
    {
        "hundename": st.one_of(st.just(""), NAMES),
        "rasse": st.one_of(st.sampled_from(BREEDS), st.sampled_from(["", "wolf"])),
        "wurftag": ANY_DAY,
        "haltung_seit": ANY_DAY,
        "negativzeugnis": st.booleans(),
        "steuermarke": st.one_of(st.none(), st.text(alphabet="0123456789", max_size=6)),
        "abmeldedatum": ANY_DAY,
        "abmeldegrund": st.one_of(st.none(), st.sampled_from(REASONS)),
        "neue_halter": st.one_of(st.none(), NAMES),
    }
)
WRONG: dict[str, st.SearchStrategy[Any]] = {  # values that may be wrong (or, by chance, right)
    "art": st.sampled_from(["", "verkauf", "anmeldung", "abmeldung"]),
    "vorname": st.just(""),
    "geburtsdatum": ANY_DAY,
    "hausnummer": st.sampled_from(["x", "", "1234567"]),
    "postleitzahl": st.sampled_from(["12345", "", "8033"]),
    "bereits_gemeldet": st.one_of(st.none(), st.integers(min_value=-2, max_value=25)),
    "hunde": st.lists(any_dog, max_size=7),
}


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A right application with up to two parts made (probably) wrong."""
    typed = draw(VALID)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        name = draw(st.sampled_from(sorted(WRONG)))
        typed[name] = draw(WRONG[name])
    return typed


def as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def as_posted(value: Any) -> str:
    """How a browser posts a value: text as typed, a date from the date picker, a number as
    typed, a ticked checkbox as "ja" (an unticked one is not posted at all)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "ja"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_body(typed: dict[str, Any]) -> dict[str, Any]:
    angaben = {k: as_json(v) for k, v in typed.items() if k != "hunde" and v not in (None, "")}
    angaben["hunde"] = [{k: as_json(v) for k, v in d.items() if v not in (None, "")} for d in typed["hunde"]]
    return {"service_id": "hundesteuer", "version": 1, "angaben": angaben}


def through_the_api(definition: Definition, typed: dict[str, Any]) -> dict[str, str]:
    """What the API answers (``submission.Submissions``): the engine, and the schema on
    what the engine shows."""
    body = cleaned(json_body(typed))
    result = judge(definition, Inputs(values=body["angaben"], origin="json", today=TODAY))
    return verdict(definition, body, result, "https://rathaus.example")


def through_the_form(definition: Definition, typed: dict[str, Any]) -> dict[str, str]:
    """What the summary page finds after a citizen posted every page (``web.antrag``): the
    dogs' rows added with the page's button, every field of every page posted as a string."""
    values: dict[str, Any] = {"hunde": [{} for _ in typed["hunde"]]}
    for step in definition.steps:
        shown: list[str] = []
        form: dict[str, str] = {}
        for node in definition.walk((step,)):
            if not node.user_supplied or node.is_file:
                continue
            if node.repeating_group:
                for i, row in enumerate(typed["hunde"]):
                    key = f"hunde-{i}-{node.name}"
                    shown.append(key)
                    form[key] = as_posted(row.get(node.name))
            else:
                shown.append(node.name)
                form[node.name] = as_posted(typed.get(node.name))
        read_page(definition, step, {**form, "_felder": " ".join(shown)}, values)
    result = judge(definition, Inputs(values=values, origin="form", today=TODAY))
    return api_errors(result.errors)


def fields(errors: dict[str, str]) -> set[str]:
    """The fields an error names ("hunde[1].rasse" -> "hunde", "rasse")."""
    return {part.split("[")[0] for key in errors for part in key.split(".")}


@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed=submissions())
def test_the_form_and_the_api_accept_and_refuse_the_same_applications(typed: dict[str, Any]) -> None:
    by_api = through_the_api(HUNDE, typed)
    by_form = through_the_form(HUNDE, typed)
    assert bool(by_api) == bool(by_form), (by_api, by_form)
    # the same fields are wrong (the API may add where the schema says more, e.g. a type)
    assert fields(by_form) <= fields(by_api), (by_api, by_form)


def test_both_outcomes_occur() -> None:
    """The property above is worth something only if it sees applications both ways accept."""
    anmeldung = {
        "art": "anmeldung",
        "vorname": "Anna",
        "familienname": "Berger",
        "geburtsdatum": date(1990, 5, 17),
        "strasse": "Zenettistraße",
        "hausnummer": "12",
        "postleitzahl": "80337",
        "bereits_gemeldet": 0,
        "hunde": [{"hundename": "Bruno", "rasse": BREEDS[0], "haltung_seit": TODAY - timedelta(days=10)}],
    }
    assert through_the_api(HUNDE, anmeldung) == {} == through_the_form(HUNDE, anmeldung)
    wrong = {**anmeldung, "postleitzahl": "12345", "hunde": []}
    assert (
        fields(through_the_api(HUNDE, wrong))
        == fields(through_the_form(HUNDE, wrong))
        == {
            "postleitzahl",
            "hunde",
        }
    )

"""The catalogue's search as citizens type: word forms, umlauts written out, compounds, typos;
online services first; and the catalogue data itself (katalog.toml)."""

from __future__ import annotations

import random
import re
import time
from dataclasses import replace

import pytest

from rathaus.platform.kernel.procedures import Offer, Procedures
from rathaus.platform.kernel.procedures.model import Texts
from rathaus.portal.domain.catalogue import by_lebenslage, search
from rathaus.portal.domain.search import (
    MAX_QUERY,
    Index,
    allowed_edits,
    distance,
    index_of,
    query_words,
    words,
)

ONLINE = (
    "bewohnerparkausweis",
    "meldebescheinigung",
    "wohnsitzanmeldung",
    "hundesteuer",
    "gewerbeanmeldung",
    "sondernutzung",
    "halteverbotszone",
    "sperrmuell",
    "fundsache",
    "reisegewerbekarte",
)
LEBENSLAGEN = {
    "Arbeit und Beruf",
    "Ausweise und Dokumente",
    "Bauen und Umwelt",
    "Bildung und Freizeit",
    "Familie und Tiere",
    "Migration und Integration",
    "Mobilität und Verkehr",
    "Sicherheit und Ordnung",
    "Soziales und Gesundheit",
    "Steuern und Abgaben",
    "Unternehmen und Gewerbe",
    "Wahlen und Ehrenamt",
    "Wohnen und Umzug",
}


@pytest.fixture(scope="module")
def procedures() -> Procedures:
    return Procedures.load()


@pytest.fixture(scope="module")
def offers(procedures: Procedures) -> list[Offer]:
    """The real catalogue, with stand-ins for online services whose procedure files are written
    elsewhere: as such a file would describe the service, online (a definition), fixed here so
    these tests do not depend on another file's keywords."""
    parking = procedures.offer("bewohnerparkausweis")
    assert parking is not None and parking.online

    def online(
        id: str,
        title: str,
        summary: str,
        lebenslagen: tuple[str, ...],
        keywords: tuple[str, ...],
        **texts: object,
    ) -> Offer:
        return replace(
            parking,
            id=id,
            title=title,
            summary=summary,
            lebenslagen=lebenslagen,
            keywords=keywords,
            texts=Texts(**texts),
        )  # type: ignore[arg-type]

    stand_ins = [
        online(
            "hundesteuer",
            "Hund zur Hundesteuer an- oder abmelden",
            "Wer in der Stadt einen Hund hält, meldet ihn innerhalb von zwei Wochen zur Hundesteuer an.",
            ("Familie und Tiere", "Steuern und Abgaben"),
            ("hund", "hundemarke", "steuer", "tier"),
            costs="100 € im Jahr für den ersten Hund.",
        ),
        online(
            "wohnsitzanmeldung",
            "Wohnsitz anmelden",
            "Nach einem Umzug melden Sie sich innerhalb von zwei Wochen bei der Meldebehörde an.",
            ("Wohnen und Umzug",),
            ("anmeldung", "ummeldung", "umzug", "zuzug", "einwohnermeldeamt"),
            documents=["Personalausweis oder Reisepass", "Wohnungsgeberbestätigung"],
        ),
        online(
            "meldebescheinigung",
            "Meldebescheinigung beantragen",
            "Die Meldebescheinigung bestätigt, wo Sie gemeldet sind.",
            ("Ausweise und Dokumente", "Wohnen und Umzug"),
            ("meldebestätigung", "wohnsitz", "bescheinigung"),
            documents=["Personalausweis oder Reisepass"],
        ),
        online(
            "gewerbeanmeldung",
            "Gewerbe anmelden",
            "Wer ein Gewerbe beginnt, meldet es beim Gewerbeamt an.",
            ("Unternehmen und Gewerbe",),
            ("gewerbeschein", "selbstständig", "firma gründen", "existenzgründung"),
        ),
        online(
            "sperrmuell",
            "Sperrmüll abholen lassen",
            "Die Stadt holt Ihren Sperrmüll an einem festen Termin ab.",
            ("Wohnen und Umzug", "Bauen und Umwelt"),
            ("sperrmüll", "möbel", "entrümpelung", "abholung"),
        ),
    ]
    replaced = {o.id for o in stand_ins}
    return [o for o in procedures.catalogue() if o.id not in replaced] + stand_ins


def ids(found: list[Offer]) -> list[str]:
    return [o.id for o in found]


def test_a_typo_finds_the_parking_permit_first(offers: list[Offer]) -> None:
    found = ids(search(offers, "Parkausweiss"))
    assert found[0] == "bewohnerparkausweis"
    assert {"parkausweis-handwerk", "parkausweis-behinderung"} <= set(found)


def test_a_word_inside_a_compound_is_found_and_the_online_service_comes_first(offers: list[Offer]) -> None:
    found = search(offers, "parkausweis")
    assert ids(found)[0] == "bewohnerparkausweis"  # "parkausweis" lies inside "bewohnerparkausweis"
    assert "parkausweis-handwerk" in ids(found)


def test_word_forms_find_the_dog_tax(offers: list[Offer]) -> None:
    found = ids(search(offers, "Hunde anmelden"))  # "Hund … an- oder abmelden"
    assert found[0] == "hundesteuer"
    assert (
        "kampfhund-erlaubnis" not in found
    )  # it mentions dogs, but not registering one: every word must match
    assert ids(search(offers, "Hundesteuer"))[0] == "hundesteuer"
    assert ids(search(offers, "hundesteuer anmelden"))[0] == "hundesteuer"


def test_a_compound_nobody_wrote_is_split_into_known_words(offers: list[Offer]) -> None:
    assert ids(search(offers, "Hundeanmeldung"))[0] == "hundesteuer"


def test_moving_house(offers: list[Offer]) -> None:
    found = search(offers, "Ummeldung")
    assert ids(found)[0] == "wohnsitzanmeldung"
    assert "gewerbe-ummeldung" in ids(found)
    moving = search(offers, "umzug")
    # registering the new home and the no-parking zone for the moving van both name the move
    assert {"wohnsitzanmeldung", "halteverbotszone"} == set(ids(moving)[:2])
    first_offline = next(i for i, o in enumerate(moving) if not o.online)
    assert all(o.online for o in moving[:first_offline]) and not any(o.online for o in moving[first_offline:])
    assert {"sperrmuell", "wohnsitz-abmelden", "wohngeld"} <= set(ids(moving))


def test_the_everyday_word_for_a_trade_licence(offers: list[Offer]) -> None:
    found = ids(search(offers, "Gewerbeschein"))
    assert found[0] == "gewerbeanmeldung"
    assert {"gewerbe-ummeldung", "gewerbe-abmeldung"} <= set(found)


def test_an_identity_card_is_not_buried_under_services_that_ask_for_one(offers: list[Offer]) -> None:
    found = ids(search(offers, "Personalausweis"))
    assert found[0] == "personalausweis"
    # the online services list "Personalausweis oder Reisepass" among their documents: not a hit
    assert "meldebescheinigung" not in found and "wohnsitzanmeldung" not in found


def test_ausweis_ranks_online_services_first(offers: list[Offer]) -> None:
    found = search(offers, "ausweis")
    assert found[0].online and found[0].id == "bewohnerparkausweis"
    assert {"personalausweis", "bibliotheksausweis", "schwerbehindertenausweis"} <= set(ids(found))
    online = [i for i, o in enumerate(found) if o.online]
    assert online == list(range(len(online)))


def test_umlauts_may_be_written_out(offers: list[Offer]) -> None:
    assert ids(search(offers, "Sperrmüll"))[0] == "sperrmuell"
    assert ids(search(offers, "sperrmuell")) == ids(search(offers, "Sperrmüll"))
    assert ids(search(offers, "SPERRMULL")) == ids(search(offers, "Sperrmüll"))
    assert (
        ids(search(offers, "Fuehrerschein"))
        == ids(search(offers, "Führerschein"))
        == ids(search(offers, "Fuhrerschein"))
    )
    assert ids(search(offers, "Einbuergerung"))[0] == "einbuergerung"


def test_an_empty_query_and_stop_words_find_nothing(offers: list[Offer]) -> None:
    assert search(offers, "") == []
    assert search(offers, "   ") == []
    assert search(offers, "die und oder") == []


def test_a_query_without_hit(offers: list[Offer]) -> None:
    assert search(offers, "Xylophonquartett") == []
    assert search(offers, "Hunt") == []  # a four-letter word tolerates no typo: not "Hund"


def test_a_very_long_query_is_capped(offers: list[Offer]) -> None:
    long = "Parkausweis " + "x" * 20_000
    started = time.perf_counter()
    found = search(offers, long)
    print(f"\n{len(long)} characters searched in {1000 * (time.perf_counter() - started):.1f} ms")
    assert ids(found) == ids(search(offers, long[:MAX_QUERY]))
    assert ids(found)[0] == "bewohnerparkausweis"  # the x-word matches nothing: the best partial match
    assert len(query_words(" ".join(f"wort{i}" for i in range(50)))) == 8


def test_partial_matches_when_no_service_matches_every_word(offers: list[Offer]) -> None:
    found = ids(search(offers, "Hund Raumschiff"))
    assert found[0] == "hundesteuer" and "kampfhund-erlaubnis" in found


def test_the_texts_are_searched_when_nothing_else_matches(offers: list[Offer]) -> None:
    assert ids(search(offers, "Fingerabdrücke")) == ["reisepass"]  # only in its Voraussetzungen
    assert ids(search(offers, "Zeigefinger")) == ["personalausweis"]


def test_hyphenated_and_separate_words(offers: list[Offer]) -> None:
    assert ids(search(offers, "Kfz-Zulassung"))[0] == "kfz-zulassung"
    assert ids(search(offers, "kfzzulassung"))[0] == "kfz-zulassung"
    assert ids(search(offers, "Kfz Zulassung"))[0] == "kfz-zulassung"
    assert words("Hund an- oder abmelden") == ["hund", "an", "anmelden", "oder", "abmelden"]


def test_the_order_is_deterministic(offers: list[Offer]) -> None:
    shuffled = list(offers)
    random.Random(7).shuffle(shuffled)
    for query in ("ausweis", "umzug", "Steuer", "Parkausweiss"):
        assert ids(search(shuffled, query)) == ids(search(offers, query))
        assert ids(search(offers, query)) == ids(search(offers, query))


def test_search_returns_the_callers_offers(offers: list[Offer], procedures: Procedures) -> None:
    first, second = procedures.catalogue(), procedures.catalogue()
    assert index_of(first) is index_of(second)  # one index per catalogue, built once
    found = search(second, "Personalausweis")
    assert any(found[0] is o for o in second)


def test_typos_are_bounded_by_the_word_length() -> None:
    assert [allowed_edits(n) for n in (3, 4, 5, 8, 9, 14)] == [0, 0, 1, 1, 2, 2]
    assert distance("parkausweiss", "parkausweis", 2) == 1
    assert distance("hnud", "hund", 1) == 1  # a transposition is one edit
    assert distance("meldebescheinigung", "hund", 2) == 3  # stops once over the limit


def test_how_long_it_takes(offers: list[Offer]) -> None:
    """The figures of the module's docstring, printed (no timed assertion on shared machines)."""
    started = time.perf_counter()
    index = Index.build(offers)
    built = time.perf_counter() - started
    started = time.perf_counter()
    first = [index.search(query)[0].id for query in ("Parkausweiss", "Hunde anmelden", "Personalausweis")]
    queried = (time.perf_counter() - started) / 3
    print(
        f"\nindex of {len(offers)} offers built in {built * 1000:.0f} ms; a query takes {queried * 1000:.1f} ms"
    )
    assert first == ["bewohnerparkausweis", "hundesteuer", "personalausweis"]


def test_groups_by_lebenslage(offers: list[Offer]) -> None:
    groups = by_lebenslage(offers)
    names = [g.name for g in groups]
    assert names == sorted(
        names, key=lambda n: n.casefold().replace("ä", "a").replace("ö", "o").replace("ü", "u")
    )
    family = next(g for g in groups if g.name == "Familie und Tiere")
    assert family.offers[0].id == "hundesteuer"  # online first, then by title
    assert family.online == 1 and family.slug == "familie-und-tiere"
    titles = [o.title.casefold() for o in family.offers[1:]]
    assert titles == sorted(titles, key=lambda t: t.replace("ä", "a").replace("ö", "o").replace("ü", "u"))
    taxes = next(g for g in groups if g.name == "Steuern und Abgaben")
    assert "hundesteuer" in ids(list(taxes.offers))  # in two Lebenslagen: listed in both
    assert sum(len(g.offers) for g in groups) == sum(len(o.lebenslagen) for o in offers)


def test_the_catalogue_a_city_publishes(procedures: Procedures) -> None:
    offline = [o for o in procedures.catalogue() if not o.online]
    assert len(offline) >= 92
    assert not {o.id for o in offline} & set(ONLINE)  # the online services are procedures
    for o in offline:
        assert o.title and o.summary and o.where and o.unit, o.id
        assert set(o.lebenslagen) <= LEBENSLAGEN, o.id
        assert re.fullmatch(r"(99\d{12})?", o.leika), o.id
        t = o.texts
        assert t.costs and t.deadlines and t.requirements and t.legal_bases and t.processing, o.id
        assert o.keywords and all(k == k.lower() for k in o.keywords), o.id
    assert {g for o in offline for g in o.lebenslagen} == LEBENSLAGEN

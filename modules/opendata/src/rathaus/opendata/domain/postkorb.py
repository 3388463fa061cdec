"""The two-way Postkorb in numbers: Nachforderungen and how Bescheide became notified.

Counting rules. One anonymous fact per Nachforderung (a case can have several, one at a
time: a new one after the last was answered or lapsed) and one per case for the Bekanntgabe
of its Bescheid; no names, no Aktenzeichen, no texts (the open-data portal reads only the
internal events: ``DocumentsRequested``, ``ReplyFiled``, ``DocumentsOverdue``,
``DecisionDelivered``, ``BekanntgabeDetermined``).

A Nachforderung counts in the month it was sent (Munich) under its service, once its
``DocumentsRequested`` is known (a reply or a lapse that arrives first waits for it). It is

- ``fristgerecht``: a reply was filed in the E-Akte on or before the deadline (a date,
  ending with that day in Munich),
- ``verspaetet``: the first reply was filed after the deadline (also after staff were told
  to decide with what they have),
- ``nach_aktenlage``: no reply, and the deadline and the second period passed
  (``DocumentsOverdue`` level 2: staff decide with what they have), or the case's Bescheid
  was delivered without one (the workflow stops following a Nachforderung once the case
  is decided, so no level 2 comes then),
- ``offen``: none of these yet.

A reply always wins over a lapse, whatever the order the events arrive in; of several
replies the earliest filed counts while the Nachforderung is unanswered (see ``store``).
The days until the reply (from sending the Nachforderung to filing the reply) are kept in
whole hours once both are known; the two timestamps are dropped then, as the processing
times of the service datasets do. A case counts as „Fall mit Nachforderung“ once, in the
month of its first Nachforderung.

A Bescheid counts in the month it was delivered (provided in the Postkorb, sent by e-mail
or filed), under its service, as

- ``abruf``: provided in the Postkorb and retrieved for the first time before the presumed
  third day (§ 9 Abs. 1 OZG: the day of the retrieval is the day of notice),
- ``dritter_tag``: provided in the Postkorb and notified on the presumed third day (retrieved
  on or after it, or not retrieved; counted once the day has passed),
- ``vierter_tag``: sent by e-mail or letter, notified on the presumed fourth day (§ 41 Abs. 2
  VwVfG),
- ``nicht_uebermittelt``: only filed (no address to send it to), not notified,
- ``ausstehend``: provided in the Postkorb, neither retrieved nor its third day passed yet.

Output management decides how the day of notice came about (``BekanntgabeDetermined``,
once per Bescheid after its first retrieval): its ``by_retrieval`` is taken as it is and
overrides a third day the portal assumed because the day had passed.

The dataset: Leistung × Monat, two groups of count tables each protected together by the
portal's suppression (``disclosure``) and audited: the Nachforderungen (cases with one,
the four outcomes, the median days until the reply where at least
``MIN_FOR_PERCENTILES`` replies are published) and the Bekanntgabe (the five kinds).

Why two groups, not one: their months mean different things (sent vs. delivered) and no
published number adds cells of one group to cells of the other, so the joint pattern
(a place hidden in one table is hidden in all) has nothing to guard between them; joined,
every small count among ten tables would hide its place in all ten.

Why the Bekanntgabe looks beyond this dataset: its five kinds are a complete partition of
the Bescheide of a service and month, and the service's own dataset publishes that number
(grants plus refusals of the month). Where only one kind occurs at a place, its cell can
be read off there, so it must never serve as a complement (in tests with random small
tables a third of the plain suppressions gave a small cell away that way); where no
suppression avoids such cells, the Bekanntgabe tables are withheld but for their zeros
(``publish_postkorb``). Two or more kinds at a place give one more equation over hidden
cells, which ``disclosure`` accepts under (1). The Nachforderungen add up to nothing
another dataset publishes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rathaus.opendata.domain.audit import Link, findings
from rathaus.opendata.domain.datasets import DisclosureError
from rathaus.opendata.domain.disclosure import (
    MIN_PUBLISHED,
    Cell,
    Published,
    Table,
    cells_of,
    suppress_together,
)
from rathaus.opendata.domain.times import MIN_FOR_PERCENTILES, days, moment, percentile
from rathaus.platform.kernel.calendar import munich_day

POSTKORB_ID = "postkorb-nachforderungen-bekanntgabe"

# the Nachforderungen: cases by the month of their first one, the rest by the month each was sent
FAELLE, FRISTGERECHT, VERSPAETET, AKTENLAGE, OFFEN = (
    "faelle_mit_nachforderung",
    "fristgerecht",
    "verspaetet",
    "nach_aktenlage",
    "offen",
)
NF_TABLES = (FAELLE, FRISTGERECHT, VERSPAETET, AKTENLAGE, OFFEN)
ANSWERED = (FRISTGERECHT, VERSPAETET)
# the Bekanntgabe of the Bescheide, by the month they were delivered
ABRUF, DRITTER_TAG, VIERTER_TAG, NICHT_UEBERMITTELT, AUSSTEHEND = (
    "abruf",
    "dritter_tag",
    "vierter_tag",
    "nicht_uebermittelt",
    "ausstehend",
)
BG_TABLES = (ABRUF, DRITTER_TAG, VIERTER_TAG, NICHT_UEBERMITTELT, AUSSTEHEND)

POSTKORB, POST, EMAIL, AKTE = "postkorb", "post", "email", "akte"  # DecisionDelivered.channel
CHANNELS = {POSTKORB: None, POST: VIERTER_TAG, EMAIL: VIERTER_TAG, AKTE: NICHT_UEBERMITTELT}

LABELS: dict[str, tuple[str, str]] = {
    FAELLE: (
        "Fälle mit Nachforderung",
        "Vorgänge, in denen Unterlagen nachgefordert wurden, im Monat der ersten Nachforderung.",
    ),
    FRISTGERECHT: (
        "Fristgerecht beantwortet",
        "Nachforderungen des Monats, deren Antwort spätestens am Tag der Frist in der E-Akte abgelegt wurde.",
    ),
    VERSPAETET: (
        "Nach Fristablauf beantwortet",
        "Nachforderungen des Monats, deren erste Antwort nach dem Tag der Frist abgelegt wurde.",
    ),
    AKTENLAGE: (
        "Nicht beantwortet, Entscheidung nach Aktenlage",
        "Nachforderungen des Monats ohne Antwort nach Frist, Erinnerung und zweiter Frist, oder ohne "
        "Antwort bis zur Zustellung des Bescheids.",
    ),
    OFFEN: ("Noch offen", "Nachforderungen des Monats ohne Antwort, deren zweite Frist noch läuft."),
    ABRUF: (
        "Postkorb: Bekanntgabe durch Abruf vor dem dritten Tag",
        "Im Postkorb bereitgestellte Bescheide, zum ersten Mal abgerufen vor dem dritten Tag (§ 9 Abs. 1 OZG).",
    ),
    DRITTER_TAG: (
        "Postkorb: Bekanntgabe am dritten Tag",
        "Im Postkorb bereitgestellte Bescheide, die am dritten Tag nach der Bereitstellung als bekannt "
        "gegeben gelten (später oder nicht abgerufen).",
    ),
    VIERTER_TAG: (
        "E-Mail oder Brief: Bekanntgabe am vierten Tag",
        "Per E-Mail oder Brief übermittelte Bescheide, bekannt gegeben am vierten Tag (§ 41 Abs. 2 VwVfG).",
    ),
    NICHT_UEBERMITTELT: (
        "Nicht übermittelt (nur zur Akte)",
        "Bescheide ohne Anschrift für eine Übermittlung: nur abgelegt, bekannt gegeben erst bei Aushändigung.",
    ),
    AUSSTEHEND: (
        "Postkorb: Bekanntgabe steht noch aus",
        "Im Postkorb bereitgestellte Bescheide, noch nicht abgerufen und der dritte Tag noch nicht vorbei.",
    ),
}

TITLE = "Nachforderungen und Bekanntgabe im Postkorb"
SUMMARY = (
    "Wie oft Unterlagen im Postkorb nachgefordert und ob sie fristgerecht, verspätet oder gar nicht "
    "nachgereicht wurden, wie lange das dauerte, und wie die Bescheide bekannt gegeben wurden "
    "(durch Abruf im Postkorb, am dritten oder am vierten Tag), je Leistung und Monat."
)
SCOPE = "Alle Leistungen des Online-Portals"
TAGS = ("Postkorb", "Nachforderung", "Bekanntgabe", "Bescheide", "Verwaltungsleistungen")
THEMES = ("GOVE",)
ZAEHLWEISE = (
    "Eine Nachforderung zählt im Monat, in dem sie im Postkorb gestellt wurde (Zeitzone Europe/Berlin), "
    "unter ihrer Leistung: fristgerecht beantwortet, wenn die Antwort spätestens am Tag der Frist in der "
    "E-Akte abgelegt wurde; nach Fristablauf beantwortet, wenn die erste Antwort später abgelegt wurde "
    "(auch nach der Entscheidung nach Aktenlage); nicht beantwortet, wenn nach Frist, Erinnerung und "
    "zweiter Frist keine Antwort kam und nach Aktenlage zu entscheiden war, oder wenn der Bescheid "
    "zugestellt wurde, ohne dass eine Antwort kam; sonst noch offen. Ein Fall "
    "mit Nachforderung zählt einmal, im Monat seiner ersten Nachforderung. Ein Bescheid zählt im Monat "
    "seiner Zustellung unter der Art seiner Bekanntgabe: im Postkorb durch den ersten Abruf vor dem "
    "dritten Tag (§ 9 Abs. 1 OZG) oder am dritten Tag nach der Bereitstellung (gezählt, sobald der Tag "
    "vorbei ist; bis dahin „steht noch aus“), per E-Mail oder Brief am vierten Tag (§ 41 Abs. 2 VwVfG), "
    "oder gar nicht, weil er nur zur Akte genommen wurde. Tage fallen auf den nächsten Werktag, wie es "
    "die Regeln der Bekanntgabe vorsehen. Summen je Leistung, je Monat und insgesamt."
)
ANTWORTDAUER = (
    "Tage bis zur Antwort: von der Nachforderung bis zur Ablage der Antwort in der E-Akte, in Tagen mit "
    "einer Nachkommastelle, als Median der beantworteten Nachforderungen (fristgerecht und verspätet). "
    "Er steht nur, wo beide Zahlen veröffentlicht sind und zusammen mindestens "
    f"{MIN_FOR_PERCENTILES} ergeben: Der Median von weniger Fällen ist praktisch die Dauer eines Falls."
)
GEHEIMHALTUNG = (
    f"Werte unter {MIN_PUBLISHED} (also 1 und 2) sind zum Schutz der Antragstellenden gesperrt. "
    "Damit sich kein gesperrter Wert aus den veröffentlichten Zahlen und Summen errechnen lässt, "
    "sind weitere Werte gesperrt (sekundäre Geheimhaltung). Ist ein Wert in einer Tabelle der "
    "Nachforderungen (Fälle, fristgerecht, verspätet, nicht beantwortet, offen) gesperrt, ist er an "
    "derselben Stelle auch in den anderen gesperrt, außer er ist dort 0; ebenso unter den Tabellen "
    "der Bekanntgabe. Die Bekanntgabe-Arten eines Monats ergeben zusammen die Bescheide, die der "
    "Datensatz der Leistung veröffentlicht: Wo nur eine Art vorkommt, ist ihr Wert dort schon "
    "abzulesen und wird nie zum Schutz eines anderen Werts gesperrt; ginge es nicht anders, werden "
    "die Tabellen der Bekanntgabe bis auf die Nullen ganz gesperrt. Gesperrte Werte sind leer und "
    "als gesperrt gekennzeichnet. Eine 0 bedeutet: kein Fall."
)
WITHHELD = (
    "Die Tabelle der Bekanntgabe ist zurzeit bis auf die Nullen ganz gesperrt: Jede Sperrung, die "
    "einen kleinen Wert schützt, ließe sich mit den Bescheid-Zahlen der Datensätze der Leistungen "
    "aufheben. Sie wird wieder veröffentlicht, sobald die Zahlen es erlauben."
)
NOTES = f"{SUMMARY} {ZAEHLWEISE} {ANTWORTDAUER} {GEHEIMHALTUNG}"
HIDDEN = "Anzahl gesperrt"
FEW = f"weniger als {MIN_FOR_PERCENTILES} Antworten"


# -- the counting rules -------------------------------------------------------------------------


def answer(filed_at: str, deadline: str) -> str:
    """How a reply filed at ``filed_at`` answers a Nachforderung due on ``deadline`` (an ISO
    date: the deadline ends with that day in Munich)."""
    moment(filed_at, "Antwort")
    try:
        due = date.fromisoformat(deadline)
    except (TypeError, ValueError):
        raise ValueError(f"Frist: „{deadline}“ ist kein Datum nach ISO 8601.") from None
    return FRISTGERECHT if munich_day(filed_at) <= due else VERSPAETET


def outcome(ergebnis: str | None, aktenlage: bool) -> str:
    """The table a known Nachforderung counts in: its answer, else lapsed (or the case
    decided without it), else open."""
    if ergebnis in ANSWERED:
        return ergebnis
    return AKTENLAGE if aktenlage else OFFEN


def kind_of_channel(channel: str) -> str | None:
    """How a Bescheid delivered on ``channel`` is notified; None for the Postkorb (the first
    retrieval or the third day decide). An unknown channel is an error (retried, then
    dead-lettered for an operator instead of counted as a guess)."""
    if channel not in CHANNELS:
        raise ValueError(f"Unbekannter Zustellweg {channel!r}: bekannt sind {', '.join(CHANNELS)}")
    return CHANNELS[channel]


def kind_determined(by_retrieval: bool) -> str:
    """Output management determined the day of notice after the first retrieval."""
    return ABRUF if by_retrieval else DRITTER_TAG


def presumed_passed(presumed: str, today: date) -> bool:
    """The presumed third day lies before ``today``: a retrieval before it would be known by
    now, so the Bescheid counts as notified on the third day (a late one still overrides)."""
    try:
        return date.fromisoformat(presumed) < today
    except (TypeError, ValueError):
        raise ValueError(f"Bekanntgabe: „{presumed}“ ist kein Datum nach ISO 8601.") from None


# -- the published dataset ----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Count tables of one grain (Leistung × Monat), protected together."""

    keys: tuple[str, ...]
    rows: tuple[str, ...]  # service ids with at least one case, by title
    cols: tuple[str, ...]  # months with at least one case
    tables: Mapping[str, Published]
    present: tuple[tuple[str, str], ...]  # (service id, Monat) with at least one case
    withheld: bool = False  # every value but the zeros hidden (see ``publish_postkorb``)


@dataclass(frozen=True)
class Median:
    days: float | None  # None: not published (see ``reason``)
    reason: str  # "" when published


@dataclass(frozen=True)
class PostkorbDataset:
    titles: Mapping[str, str]  # service id -> its title from the procedure data
    nachforderungen: Group
    medians: Mapping[Cell, Median]  # for every cell of the Nachforderungen with its margins
    bekanntgabe: Group
    created: str
    modified: str
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the downloads

    @property
    def cols(self) -> tuple[str, ...]:
        """Every month the dataset covers."""
        return tuple(sorted(set(self.nachforderungen.cols) | set(self.bekanntgabe.cols)))


Counts = Mapping[str, Mapping[tuple[str, str], int]]


def _group(
    keys: tuple[str, ...], counts: Counts, titles: Mapping[str, str], known: Collection[Cell] = ()
) -> tuple[Group, list[Link], Group]:
    """The tables of one group protected together; the sums anyone can read elsewhere over
    each place where only one table is not 0 (see ``publish_postkorb``), for the auditor;
    and the group withheld: every value but the zeros hidden."""
    if set(counts) - set(keys):
        raise ValueError(f"unknown tables {sorted(set(counts) - set(keys))}")
    cells = {cell for key in keys for cell, n in counts.get(key, {}).items() if n > 0}
    order = {sid: (titles.get(sid, sid).casefold(), sid) for sid, _ in cells}
    rows = tuple(sorted({r for r, _ in cells}, key=order.__getitem__))
    cols = tuple(sorted({c for _, c in cells}))
    raw = {key: Table(rows, cols, dict(counts.get(key, {}))) for key in keys}
    values = {key: t.values() for key, t in raw.items()}
    places = set(known) & set(cells_of(rows, cols))
    # across services, a month (or everything) is known when it is for every service in it
    for col in (*cols, None):
        if all((r, col) in places or all(values[k][(r, col)] == 0 for k in keys) for r in rows):
            places.add((None, col))
    alone = {
        place: [k for k in keys if values[k][place] > 0]
        for place in places
        if sum(1 for k in keys if values[k][place] > 0) == 1
    }
    fixed = {key: {place for place, only in alone.items() if only == [key]} for key in keys}
    tables = suppress_together(raw, fixed)
    links = [
        Link(
            f"Bescheide {place} (aus dem Datensatz der Leistung)", values[only[0]][place], ((only[0], place),)
        )
        for place, only in alone.items()
    ]
    present = tuple(sorted(cells, key=lambda rc: (rc[1], order[rc[0]])))
    withheld = {
        key: Published(rows, cols, {cell: n if n == 0 else None for cell, n in values[key].items()})
        for key in keys
    }
    return Group(keys, rows, cols, tables, present), links, Group(keys, rows, cols, withheld, present, True)


def _medians(group: Group, hours: Mapping[tuple[str, str], Sequence[int]]) -> dict[Cell, Median]:
    """The median days until the reply for every cell and margin: only where the answered
    Nachforderungen (fristgerecht + verspätet) are published in both tables and at least
    ``MIN_FOR_PERCENTILES``; replies from before durations were kept count there, not here."""
    out: dict[Cell, Median] = {}
    for cell in group.tables[FRISTGERECHT].values:
        row, col = cell
        parts = [group.tables[key].values[cell] for key in ANSWERED]
        if any(p is None for p in parts):
            out[cell] = Median(None, HIDDEN)
            continue
        values = [
            h
            for (r, c), hs in hours.items()
            if (row is None or r == row) and (col is None or c == col)
            for h in hs
        ]
        if sum(p or 0 for p in parts) < MIN_FOR_PERCENTILES or len(values) < MIN_FOR_PERCENTILES:
            out[cell] = Median(None, FEW)
        else:
            out[cell] = Median(days(percentile(values, 0.5)), "")
    return out


def publish_postkorb(
    nachforderungen: Counts,
    hours: Mapping[tuple[str, str], Sequence[int]],
    bekanntgabe: Counts,
    titles: Mapping[str, str],
    *,
    created: str,
    modified: str,
    known: Collection[Cell] = (),
) -> PostkorbDataset:
    """``nachforderungen[table][(service_id, monat)]`` and ``bekanntgabe[…]`` (missing = 0),
    ``hours[(service_id, monat)]`` of the answered Nachforderungen: each group suppressed
    together, audited, published.

    ``known``: the (service_id, monat) and (service_id, None) whose number of Bescheide the
    service's own dataset publishes (its grants plus its refusals of the month, or of all
    months). The kinds of Bekanntgabe add up to that number, so where only one kind is not
    0 its cell is public already: it is never a complement (a complement there would be
    read off the service's dataset and give away the small cell it was to protect), and
    the auditor checks that it is not hidden. Where two or more kinds share a place the sum
    is one more equation over hidden cells, as ``disclosure`` says under (1)."""
    nf, _, _ = _group(NF_TABLES, nachforderungen, titles)
    bg, links, withheld = _group(BG_TABLES, bekanntgabe, titles, known)
    if findings(bg.tables, links):
        # a hidden cell could only be protected by cells the services' datasets publish:
        # withhold the Bekanntgabe (only its zeros stay) until the numbers allow more
        bg, links = withheld, []
    problems = [f"Nachforderungen: {p}" for p in findings(nf.tables)]
    problems += [f"Bekanntgabe: {p}" for p in findings(bg.tables, links)]
    if problems:
        raise DisclosureError(f"{POSTKORB_ID}: " + "; ".join(problems))
    names = {sid: titles.get(sid, sid) for sid in (*nf.rows, *bg.rows)}
    return PostkorbDataset(names, nf, _medians(nf, hours), bg, created, modified)

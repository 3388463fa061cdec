"""Who publishes, under which licence, for which place: the catalogue's fixed facts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str  # key in http://dcat-ap.de/def/licenses/
    title: str
    url: str  # the licence text
    attribution: str  # the name to credit (dcatde:licenseAttributionByText)

    @property
    def uri(self) -> str:
        return f"http://dcat-ap.de/def/licenses/{self.id}"


LICENCE = Licence(
    id="dl-by-de/2.0",
    title="Datenlizenz Deutschland – Namensnennung – Version 2.0",
    url="https://www.govdata.de/dl-de/by-2-0",
    attribution="Landeshauptstadt München",
)

PUBLISHER = "Landeshauptstadt München"
ORGANIZATION = "landeshauptstadt-muenchen"  # CKAN organization name
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/LocalAuthority"
CONTACT_NAME = "Open-Data-Team der Landeshauptstadt München"
CONTACT_EMAIL = "opendata@rathaus.example"
# dcatde:contributorID: assigned by GovData when a portal registers as data provider
CONTRIBUTOR_ID = "http://dcat-ap.de/def/contributors/stadtMuenchen"
# Munich: municipality key (Amtlicher Gemeindeschlüssel) 09162000
SPATIAL = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/09162000"
GEOCODING_LEVEL = "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"
CATALOGUE_TITLE = "Open Data der Landeshauptstadt München"
CATALOGUE_DESCRIPTION = (
    "Anonymisierte Statistiken aus den digitalen Verwaltungsleistungen der Stadt, "
    "berechnet aus den Vorgängen selbst und vor der Veröffentlichung geheimgehalten."
)

# The EU data-theme vocabulary (http://publications.europa.eu/resource/authority/data-theme),
# its German labels: the codes a procedure's [open_data] themes may name.
THEMES = {
    "AGRI": "Landwirtschaft, Fischerei, Forstwirtschaft und Nahrungsmittel",
    "ECON": "Wirtschaft und Finanzen",
    "EDUC": "Bildung, Kultur und Sport",
    "ENER": "Energie",
    "ENVI": "Umwelt",
    "GOVE": "Regierung und öffentlicher Sektor",
    "HEAL": "Gesundheit",
    "INTR": "Internationale Themen",
    "JUST": "Justiz, Rechtssystem und öffentliche Sicherheit",
    "REGI": "Regionen und Städte",
    "SOCI": "Bevölkerung und Gesellschaft",
    "TECH": "Wissenschaft und Technologie",
    "TRAN": "Verkehr",
}

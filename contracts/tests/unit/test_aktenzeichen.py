from rathaus.contracts.aktenzeichen import find, format_aktenzeichen


def test_format_and_find_round_trip() -> None:
    az = format_aktenzeichen("523.11", 2026, 42)
    assert az == "523.11-2026-000042"
    assert find(f"Betreff: Ihr Antrag, Az. {az}, vom 1. Mai") == [az]


def test_find_tolerates_ocr_spacing_and_dashes_and_drops_repeats() -> None:
    text = "Aktenzeichen 523. 11 – 2026 - 000042\nbitte angeben: 523.11-2026-000042; alt: 102.21-2025-000007"
    assert find(text) == ["523.11-2026-000042", "102.21-2025-000007"]


def test_no_aktenzeichen_in_plain_text() -> None:
    assert find("Sehr geehrte Damen und Herren, 80331 München, Tel. 089 233-00") == []

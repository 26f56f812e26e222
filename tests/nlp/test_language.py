import pytest

from nlp.language import detect_languages


@pytest.mark.parametrize(("text", "expected"), [
    ("Die Fraunhofer-Gesellschaft eröffnet in Stuttgart ein neues Zentrum für Wasserstofftechnik.", "de"),
    ("The cluster launched a pilot line for recycled battery materials in the region.", "en"),
    ("Le pôle de compétitivité lance un appel à projets pour l'industrie du futur.", "fr"),
])
def test_detect_languages_returns_iso_639_1_codes(text, expected):
    assert detect_languages([text]) == [expected]


@pytest.mark.parametrize("text", ["", None, "   ", "12345 !!! 67", "a1"])
def test_detect_languages_gives_none_for_empty_or_letterless_text(text):
    assert detect_languages([text]) == [None]


def test_detect_languages_gives_none_for_unsupported_script():
    assert detect_languages(["བོད་ཡིག་གི་ཡི་གེ་འདི་ཡིན།"]) == [None]


def test_detect_languages_keeps_order_and_length():
    codes = detect_languages(["", "Das ist ein deutscher Satz über Maschinenbau.", "", "This is English text."])
    assert codes == [None, "de", None, "en"]

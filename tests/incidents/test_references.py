import pytest
from django.core.exceptions import ValidationError

from incidents.references import normalise_cad_reference


@pytest.mark.parametrize(
    "typed",
    ["CAD6602/18MAR", "cad6602/18mar", " CAD 6602 / 18 Mar ", "CAD6602/18MAR\n"],
)
def test_it_normalises_the_ways_officers_type_a_reference(typed):
    assert normalise_cad_reference(typed) == "CAD6602/18MAR"


def test_it_pads_the_day_and_drops_leading_zeros_from_the_log_number():
    assert normalise_cad_reference("CAD0123/5jan") == "CAD123/05JAN"


def test_it_accepts_29_february():
    assert normalise_cad_reference("CAD1/29FEB") == "CAD1/29FEB"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "6602/18MAR",
        "CAD/18MAR",
        "CAD6602",
        "CAD6602/32MAR",
        "CAD6602/31APR",
        "CAD6602/18MRZ",
        "CAD6602/0MAR",
        "CAD123456/18MAR",
        "CAD6602/18MARCH",
        "CAD-6602/18MAR",
    ],
)
def test_it_rejects_what_is_not_a_cad_reference(bad):
    with pytest.raises(ValidationError):
        normalise_cad_reference(bad)

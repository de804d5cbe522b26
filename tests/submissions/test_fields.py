"""Dates, times and phone numbers read as witnesses type them, with the GOV.UK pattern's messages."""

import re
from datetime import date, time

import pytest
from django import forms

from submissions.fields import PHONE_FORMAT_MESSAGE, PhoneNumberField, read_date, read_time

WHAT = "The date you saw it"


def date_error(day, month, year):
    with pytest.raises(forms.ValidationError) as raised:
        read_date(day, month, year, what=WHAT)
    error = raised.value
    return error.message, error.params["parts"]


def test_a_blank_date_is_no_date():
    assert read_date("", " ", "", what=WHAT) is None


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("18", "3", "2021", date(2021, 3, 18)),
        (" 08 ", "03", "2021", date(2021, 3, 8)),
        ("18", "March", "2021", date(2021, 3, 18)),
        ("18", "mar", "2021", date(2021, 3, 18)),
        ("18", "MAR.", "2021", date(2021, 3, 18)),
        ("1", "Sept", "2020", date(2020, 9, 1)),
        ("1", "sep", "2020", date(2020, 9, 1)),
        ("29", "february", "2020", date(2020, 2, 29)),
    ],
)
def test_it_reads_numbers_month_names_and_abbreviations(day, month, year, expected):
    assert read_date(day, month, year, what=WHAT) == expected


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "parts"),
    [
        ("18", "3", "", "The date you saw it must include a year", ["year"]),
        ("", "", "2021", "The date you saw it must include a day and month", ["day", "month"]),
        ("", "3", "", "The date you saw it must include a day and year", ["day", "year"]),
        ("18", "", "2021", "The date you saw it must include a month", ["month"]),
        ("18", "3", "21", "Year must include 4 numbers", ["year"]),
        ("18", "3", "20211", "Year must include 4 numbers", ["year"]),
        ("31", "2", "2021", "The date you saw it must be a real date", ["day"]),
        ("29", "2", "2021", "The date you saw it must be a real date", ["day"]),
        ("32", "1", "2021", "The date you saw it must be a real date", ["day"]),
        ("18", "13", "2021", "The date you saw it must be a real date", ["month"]),
        ("18", "Marchember", "2021", "The date you saw it must be a real date", ["month"]),
        ("0", "0", "2021", "The date you saw it must be a real date", ["day", "month"]),
        ("x", "3", "21", "The date you saw it must be a real date", ["day", "year"]),
        ("1", "1", "2999", "The date you saw it must be today or in the past", ["day", "month", "year"]),
    ],
)
def test_each_problem_has_its_message_and_highlights_only_the_wrong_parts(day, month, year, message, parts):
    assert date_error(day, month, year) == (message, parts)


def test_non_latin_digits_are_not_a_year():
    assert date_error("18", "3", "٢٠٢١") == ("Year must include 4 numbers", ["year"])


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7:10pm", time(19, 10)),
        ("7.10pm", time(19, 10)),
        ("7:10 PM", time(19, 10)),
        ("7:10 p.m.", time(19, 10)),
        ("7pm", time(19)),
        ("7 am", time(7)),
        ("12am", time(0)),
        ("12:30pm", time(12, 30)),
        ("19:10", time(19, 10)),
        ("19.10", time(19, 10)),
        ("1910", time(19, 10)),
        ("0:05", time(0, 5)),
        ("midday", time(12)),
        ("Midnight", time(0)),
    ],
)
def test_it_reads_times_as_people_write_them(typed, expected):
    assert read_time(typed, what="The time you saw it") == expected


def test_a_blank_time_is_no_time():
    assert read_time("  ", what="The time you saw it") is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("teatime", "Enter a time like 7:10pm or 19:10"),
        ("7", "Enter a time like 7:10pm or 19:10"),
        ("7:1", "Enter a time like 7:10pm or 19:10"),
        ("25:70", "The time you saw it must be a real time"),
        ("24:00", "The time you saw it must be a real time"),
        ("19:60", "The time you saw it must be a real time"),
        ("13pm", "The time you saw it must be a real time"),
        ("0am", "The time you saw it must be a real time"),
    ],
)
def test_a_time_that_cannot_be_read_says_why(typed, message):
    with pytest.raises(forms.ValidationError) as raised:
        read_time(typed, what="The time you saw it")
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("020 7946 0000", "020 7946 0000"),
        ("(020) 7946-0000", "020 7946 0000"),
        ("+44 20 7946 0000", "020 7946 0000"),
        ("+44 808 157 0192", "0808 157 0192"),
        ("07911123456", "07911 123456"),
        ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ],
)
def test_phone_numbers_in_any_common_format_are_kept_in_the_usual_written_form(typed, kept):
    assert PhoneNumberField().clean(typed) == kept


@pytest.mark.parametrize("typed", ["0770090098", "12345", "phone me", "999", "+44"])
def test_a_phone_number_that_cannot_be_dialled_is_refused_with_the_gov_uk_message(typed):
    with pytest.raises(forms.ValidationError) as raised:
        PhoneNumberField().clean(typed)
    assert raised.value.messages == [PHONE_FORMAT_MESSAGE]


def test_every_example_in_the_phone_message_is_accepted():
    examples = re.findall(r"(?:\+44|0)[\d ]+\d", PHONE_FORMAT_MESSAGE)
    assert len(examples) == 2
    for example in examples:
        PhoneNumberField().clean(example)

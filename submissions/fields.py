"""Form fields that read dates, times and phone numbers as people type them, with GOV.UK error messages.

The date follows the GOV.UK date input pattern: a message says which part is missing or wrong, only those
parts are highlighted, and month names are accepted as well as numbers.
"""

import re
from datetime import date, time

import phonenumbers
from django import forms
from django.forms.boundfield import BoundField
from django.utils import timezone

PARTS = ("day", "month", "year")
MONTH_NAMES = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
MONTHS |= {name[:3]: number for name, number in MONTHS.items()} | {"sept": 9}
DIGITS = re.compile(r"[0-9]+")


def date_problem(message, parts):
    # The parts go with the error so that the page highlights those inputs only.
    return forms.ValidationError(message, code="invalid", params={"parts": parts})


def read_month(text: str) -> int | None:
    text = text.lower().rstrip(".")
    if DIGITS.fullmatch(text):
        return int(text)
    return MONTHS.get(text)


def read_date(day: str, month: str, year: str, *, what: str) -> date | None:
    """The date given as day, month and year as typed, or None if all three are blank.

    `what` names the date in messages: "The date you saw it must include a month".
    """
    typed = dict(zip(PARTS, (part.strip() for part in (day, month, year)), strict=True))
    missing = [part for part in PARTS if not typed[part]]
    if len(missing) == len(PARTS):
        return None
    if missing:
        raise date_problem(f"{what} must include a {' and '.join(missing)}", missing)
    day_number = int(typed["day"]) if DIGITS.fullmatch(typed["day"]) else 0
    month_number = read_month(typed["month"]) or 0
    wrong = [part for part, ok in (("day", 1 <= day_number <= 31), ("month", 1 <= month_number <= 12)) if not ok]
    four_digit_year = len(typed["year"]) == 4 and DIGITS.fullmatch(typed["year"])
    if wrong:
        raise date_problem(f"{what} must be a real date", wrong if four_digit_year else [*wrong, "year"])
    if not four_digit_year:
        raise date_problem("Year must include 4 numbers", ["year"])
    try:
        value = date(int(typed["year"]), month_number, day_number)
    except ValueError:
        # The day does not exist in that month, such as 31 February.
        raise date_problem(f"{what} must be a real date", ["day"]) from None
    if value > timezone.localdate():
        raise date_problem(f"{what} must be today or in the past", list(PARTS))
    return value


TIME = re.compile(r"(?P<hour>[0-9]{1,2})(?:[:.]?(?P<minute>[0-9]{2}))?(?P<half>am|pm)?")
TIME_WORDS = {"midday": time(12), "noon": time(12), "midnight": time(0)}


def read_time(text: str, *, what: str) -> time | None:
    """A time of day as typed: "7:10pm", "7.10 pm", "7pm", "19:10", "1910", "midday"; None if blank."""
    typed = re.sub(r"\s+", "", text.lower()).replace("a.m.", "am").replace("p.m.", "pm")
    if not typed:
        return None
    if typed in TIME_WORDS:
        return TIME_WORDS[typed]
    found = TIME.fullmatch(typed)
    # A bare number ("7") could be morning or evening: ask again rather than guess.
    if not found or not (found["minute"] or found["half"]):
        raise forms.ValidationError("Enter a time like 7:10pm or 19:10", code="invalid")
    hour, minute = int(found["hour"]), int(found["minute"] or 0)
    if found["half"]:
        real = 1 <= hour <= 12
        hour = hour % 12 + (12 if found["half"] == "pm" else 0)
    else:
        real = hour <= 23
    if not real or minute > 59:
        raise forms.ValidationError(f"{what} must be a real time", code="invalid")
    return time(hour, minute)


class DateInput(forms.MultiWidget):
    """Day, month and year inputs; rendered by the page's own GOV.UK template (see DateBoundField.parts)."""

    def __init__(self):
        super().__init__([forms.TextInput, forms.TextInput, forms.TextInput])

    def decompress(self, value):
        return [value.day, value.month, value.year] if value else ["", "", ""]


class DateBoundField(BoundField):
    @property
    def parts(self):
        """Each input of the date: its label, name, id, value as typed and whether it is highlighted."""
        value = self.value()
        if not isinstance(value, list | tuple):
            value = self.field.widget.decompress(value)
        in_error = set()
        for error in self.form.errors.as_data().get(self.name, []):
            in_error.update((error.params or {}).get("parts", PARTS))
        return [
            {
                "label": part.capitalize(),
                "name": f"{self.html_name}_{index}",
                "id": f"{self.auto_id}_{index}",
                "value": "" if value[index] is None else value[index],
                "width": 4 if part == "year" else 2,
                # Months may be typed as words ("March"), so that input keeps the full keyboard.
                "numeric": part != "month",
                "error": part in in_error,
            }
            for index, part in enumerate(PARTS)
        ]

    @property
    def error_anchor(self):
        """The id of the first highlighted input, for the error summary's link."""
        return next((part["id"] for part in self.parts if part["error"]), f"{self.auto_id}_0")


class DateField(forms.Field):
    """An optional date typed as day, month and year, read as the GOV.UK date input pattern says."""

    widget = DateInput
    bound_field_class = DateBoundField

    def __init__(self, *, what: str, **kwargs):
        self.what = what
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        if not value:
            return None
        day, month, year = (str(part or "") for part in value)
        return read_date(day, month, year, what=self.what)


class TimeField(forms.CharField):
    """An optional time of day, typed in a text input."""

    def __init__(self, *, what: str, **kwargs):
        self.what = what
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        return read_time(super().to_python(value), what=self.what)


PHONE_FORMAT_MESSAGE = "Enter a phone number, like 020 7946 0018 or +44 808 157 0192"
# Numbers without a country code are read as dialled in the UK.
PHONE_REGION = "GB"


def parse_phone_number(value: str) -> phonenumbers.PhoneNumber | None:
    """The phone number in value, in any common format, or None unless it has as many digits as a number
    dialled in full can have (whether or not it is in a range allocated to anyone)."""
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    possible = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
    return number if possible else None


def written_phone_number(number: phonenumbers.PhoneNumber) -> str:
    """The usual written form, as submissions store it: UK numbers (+44, which includes the Channel Islands
    and the Isle of Man) as dialled here, e.g. "020 7946 0018", others with their country code."""
    written = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, written)


class PhoneNumberField(forms.CharField):
    """A UK or international phone number in any common format, kept in the usual written form."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        number = parse_phone_number(value)
        if number is None or not phonenumbers.is_valid_number(number):
            raise forms.ValidationError(PHONE_FORMAT_MESSAGE, code="invalid")
        return written_phone_number(number)

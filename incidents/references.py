"""CAD references: computer-aided-dispatch log number / day and month, as in CAD6602/18MAR."""

import calendar
import re

from django.core.exceptions import ValidationError

MONTHS = [name.upper() for name in calendar.month_abbr[1:]]
# Officers type these many ways: "cad 6602/18mar", "CAD 6602 / 18 Mar", "CAD6602/18MAR".
CAD_PATTERN = re.compile(r"^CAD\s*(?P<log>\d{1,5})\s*/\s*(?P<day>\d{1,2})\s*(?P<month>[A-Z]{3})$")
# 29 February is a valid day: the reference carries no year.
DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def normalise_cad_reference(value: str) -> str:
    """Return the reference in its canonical form, or raise ValidationError."""
    match = CAD_PATTERN.match(value.strip().upper())
    message = "Enter a CAD reference like CAD6602/18MAR: CAD, the log number, a slash, the day and the month"
    if not match:
        raise ValidationError(message, code="invalid")
    month = match["month"]
    day = int(match["day"])
    if month not in MONTHS or not 1 <= day <= DAYS_IN_MONTH[MONTHS.index(month)]:
        raise ValidationError(message, code="invalid")
    return f"CAD{int(match['log'])}/{day:02d}{month}"

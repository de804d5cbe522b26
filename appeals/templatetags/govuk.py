"""Dates and times written the GOV.UK way: "Thursday 18 March 2021 at 7:10pm"."""

import re
from datetime import datetime, time

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def govuk_time(value: time | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).time()
    if (value.hour, value.minute) == (0, 0):
        return "midnight"
    if (value.hour, value.minute) == (12, 0):
        return "midday"
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d}{'am' if value.hour < 12 else 'pm'}"


@register.filter
def govuk_date(value, with_weekday: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    day = f"{value.day} {value:%B %Y}"
    return f"{value:%A} {day}" if with_weekday else day


@register.filter
def govuk_datetime(value: datetime | None, with_weekday: bool = True) -> str:
    if value is None:
        return ""
    return f"{govuk_date(value, with_weekday)} at {govuk_time(value)}"


@register.filter
def govuk_paragraphs(text: str) -> str:
    """Plain text with blank-line paragraphs as GOV.UK body paragraphs, escaped."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text or "") if part.strip()]
    return mark_safe("".join(format_html('<p class="govuk-body">{}</p>', linebreaksbr(part)) for part in paragraphs))

from django import forms

from incidents.models import Incident

# Longer searches are cut, not refused: a pasted paragraph still finds something.
MAX_SEARCH_LENGTH = 200


class AppealFilterForm(forms.Form):
    """The list's search and filters. Read from the query string, so any value at all may arrive."""

    q = forms.CharField(label="Search appeals", required=False)
    area = forms.ChoiceField(label="Area", required=False)
    offence = forms.ChoiceField(
        label="Offence", required=False, choices=[("", "All offences"), *Incident.Offence.choices]
    )

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "All areas"), *((area, area) for area in areas)]

    def clean_q(self):
        # NUL cannot be sent to PostgreSQL; other control characters mean nothing in a search.
        text = "".join(char for char in self.cleaned_data["q"] if char.isprintable() or char.isspace())
        return " ".join(text.split())[:MAX_SEARCH_LENGTH]

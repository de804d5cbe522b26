from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import (
    Field,
    Fieldset,
    Fixed,
    Layout,
    Size,
    Submit,
)
from django import forms
from django.utils import timezone

from submissions.models import Submission


class GiveInformationForm(forms.ModelForm):
    CONTACT = "contact"
    ANONYMOUS = "anonymous"

    seen_on = DateInputField(
        label="What date did you see it?",
        required=False,
        help_text="For example, 18 3 2021. Leave blank if you are not sure.",
    )
    seen_at_time = forms.TimeField(
        label="What time, roughly?",
        required=False,
        input_formats=["%H:%M", "%H.%M", "%I:%M%p", "%I.%M%p", "%I%p", "%I:%M %p", "%I %p"],
        help_text="For example, 7:10pm or 19:10. Leave blank if you are not sure.",
        error_messages={"invalid": "Enter a time like 7:10pm or 19:10"},
    )
    contact_choice = forms.ChoiceField(
        label="Can officers contact you about what you have told them?",
        choices=[(CONTACT, "Yes, you can contact me"), (ANONYMOUS, "No, I want to stay anonymous")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether officers can contact you, or whether you want to stay anonymous"},
    )

    class Meta:
        model = Submission
        fields = [
            "account",
            "seen_on",
            "seen_at_time",
            "seen_where",
            "relationship",
            "contact_name",
            "contact_email",
            "contact_phone",
        ]
        labels = {
            "account": "What did you see or hear?",
            "seen_where": "Where were you?",
            "relationship": "How are you connected to what happened?",
            "contact_name": "Your name (optional)",
            "contact_email": "Email address",
            "contact_phone": "Phone number",
        }
        help_texts = {
            "account": "Tell us in your own words. Include anything you noticed about the people or vehicles involved.",
            "seen_where": "For example, a street name, a building or a landmark.",
            "contact_phone": "Give an email address, a phone number, or both.",
        }
        error_messages = {
            "account": {"required": "Enter what you saw or heard"},
            "contact_email": {"invalid": "Enter an email address in the correct format, like name@example.com"},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].widget = forms.Textarea(attrs={"rows": 8})
        self.fields["relationship"].widget = forms.RadioSelect()
        self.fields["relationship"].choices = Submission.Relationship.choices
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Field.textarea("account", label_size=Size.MEDIUM, rows=8),
            Field("seen_on"),
            Field.text("seen_at_time", field_width=Fixed.TEN),
            Field.text("seen_where"),
            Field.radios("relationship", legend_size=Size.MEDIUM),
            Field.radios("contact_choice", legend_size=Size.MEDIUM),
            Fieldset(
                Field.text("contact_name", autocomplete="name"),
                Field.text("contact_email", autocomplete="email", spellcheck="false"),
                Field.text("contact_phone", autocomplete="tel", field_width=Fixed.TWENTY),
                legend="Your contact details, if officers can contact you",
                legend_size=Size.SMALL,
            ),
            Submit("submit", "Send information"),
        )

    def clean_seen_on(self):
        seen_on = self.cleaned_data["seen_on"]
        if seen_on and seen_on > timezone.localdate():
            raise forms.ValidationError("The date you saw it must be today or in the past")
        return seen_on

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("contact_choice") == self.ANONYMOUS:
            # Anonymous means no contact details are kept, even ones typed before choosing.
            for field in ("contact_name", "contact_email", "contact_phone"):
                cleaned[field] = ""
        elif cleaned.get("contact_choice") == self.CONTACT and not (
            cleaned.get("contact_email") or cleaned.get("contact_phone")
        ):
            self.add_error("contact_email", "Enter an email address or a phone number, or choose to stay anonymous")
        return cleaned

    def _post_clean(self):
        self.instance.is_anonymous = self.cleaned_data.get("contact_choice") == self.ANONYMOUS
        super()._post_clean()

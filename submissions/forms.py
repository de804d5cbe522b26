"""The "give information" journey: one question per page, GOV.UK patterns, each page a small form."""

from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import HTML, Field, Fixed, Layout, Size, Submit
from django import forms
from django.utils import timezone

from submissions.models import Submission


class StepForm(forms.ModelForm):
    """A page of the journey; its answers are kept in the session until the witness sends them."""

    title = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(*self.layout_fields(), Submit("continue", "Continue"))

    def layout_fields(self):
        raise NotImplementedError


class AccountForm(StepForm):
    title = "What did you see or hear?"

    class Meta:
        model = Submission
        fields = ["account"]
        labels = {"account": "What did you see or hear?"}
        help_texts = {
            "account": "Tell us in your own words. Include anything you noticed about the people or vehicles "
            "involved, and what footage or photos you have, if any."
        }
        error_messages = {"account": {"required": "Enter what you saw or heard"}}

    def layout_fields(self):
        return [Field.textarea("account", label_size=Size.LARGE, label_tag="h1", rows=8)]


class WhenForm(StepForm):
    title = "When did you see it?"

    seen_on = DateInputField(
        label="Date",
        required=False,
        help_text="For example, 18 3 2021. Leave blank if you are not sure.",
    )
    seen_at_time = forms.TimeField(
        label="Time, roughly",
        required=False,
        input_formats=["%H:%M", "%H.%M", "%I:%M%p", "%I.%M%p", "%I%p", "%I:%M %p", "%I %p"],
        help_text="For example, 7:10pm or 19:10. Leave blank if you are not sure.",
        error_messages={"invalid": "Enter a time like 7:10pm or 19:10"},
        # A plain text input: the GOV.UK template pack styles TextInput, not TimeInput.
        widget=forms.TextInput,
    )

    class Meta:
        model = Submission
        fields = ["seen_on", "seen_at_time"]

    def layout_fields(self):
        return [
            Field("seen_on", legend_size=Size.SMALL),
            Field.text("seen_at_time", field_width=Fixed.TEN),
        ]

    def clean_seen_on(self):
        seen_on = self.cleaned_data["seen_on"]
        if seen_on and seen_on > timezone.localdate():
            raise forms.ValidationError("The date you saw it must be today or in the past")
        return seen_on


class WhereForm(StepForm):
    title = "Where were you?"

    class Meta:
        model = Submission
        fields = ["seen_where"]
        labels = {"seen_where": "Where were you?"}
        help_texts = {"seen_where": "For example, a street name, a building or a landmark. Leave blank if you prefer."}

    def layout_fields(self):
        return [Field.text("seen_where", label_size=Size.LARGE, label_tag="h1")]


class RelationshipForm(StepForm):
    title = "How are you connected to what happened?"

    class Meta:
        model = Submission
        fields = ["relationship"]
        labels = {"relationship": "How are you connected to what happened?"}
        error_messages = {"relationship": {"required": "Choose how you are connected to what happened"}}
        widgets = {"relationship": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relationship"].required = True
        self.fields["relationship"].choices = Submission.Relationship.choices

    def layout_fields(self):
        return [Field.radios("relationship", legend_size=Size.LARGE, legend_tag="h1")]


class ContactChoiceForm(StepForm):
    title = "Can officers contact you?"
    CONTACT = "contact"
    ANONYMOUS = "anonymous"

    contact_choice = forms.ChoiceField(
        label="Can officers contact you about what you have told them?",
        choices=[(CONTACT, "Yes, you can contact me"), (ANONYMOUS, "No, I want to stay anonymous")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether officers can contact you, or whether you want to stay anonymous"},
    )

    class Meta:
        model = Submission
        fields = []

    def layout_fields(self):
        return [
            Field.radios("contact_choice", legend_size=Size.LARGE, legend_tag="h1"),
            HTML.details(
                "What staying anonymous means",
                "<p class='govuk-body'>We will not ask for your name, email or phone number, and we do not record "
                "your IP address or which device you used. What you tell us and any files you send are kept "
                "and read by the officers investigating. They will not be able to contact you with questions.</p>"
                "<p class='govuk-body'>Files can contain details about you (for example your car's number plate "
                "or your voice). To stay completely independent of the police, call the charity Crimestoppers "
                "on 0800 555 111 or use their website: they never ask for your name.</p>",
            ),
        ]

    @property
    def is_anonymous(self):
        return self.cleaned_data.get("contact_choice") == self.ANONYMOUS


class ContactDetailsForm(StepForm):
    title = "Your contact details"

    class Meta:
        model = Submission
        fields = ["contact_name", "contact_email", "contact_phone"]
        labels = {
            "contact_name": "Your name (optional)",
            "contact_email": "Email address",
            "contact_phone": "Phone number",
        }
        help_texts = {
            "contact_email": "We will email you your reference and a private link to add footage later.",
            "contact_phone": "Give an email address, a phone number, or both.",
        }
        error_messages = {
            "contact_email": {"invalid": "Enter an email address in the correct format, like name@example.com"},
        }

    def layout_fields(self):
        return [
            Field.text("contact_name", autocomplete="name"),
            Field.text("contact_email", autocomplete="email", spellcheck="false"),
            Field.text("contact_phone", autocomplete="tel", field_width=Fixed.TWENTY),
        ]

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("contact_email") or cleaned.get("contact_phone")) and not self.has_error("contact_email"):
            self.add_error("contact_email", "Enter an email address or a phone number, or go back and choose anonymous")
        return cleaned

    def _post_clean(self):
        # The anonymous-or-contactable constraint is checked on the whole submission at the end.
        self.instance.is_anonymous = False
        super()._post_clean()

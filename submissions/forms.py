"""The "give information" journey: one question per page, GOV.UK patterns, each page a small form."""

from functools import cache, cached_property

from crispy_forms.utils import render_crispy_form
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import HTML, Field, Fixed, Layout, Size, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from submissions.fields import DateField, PhoneNumberField, TimeField
from submissions.models import Submission

ACCOUNT_MAX_LENGTH = Submission._meta.get_field("account").max_length
# Answers are kept up to twice the longest allowed, so that a witness can shorten one that is too long.
KEPT_CHARACTERS = 2 * ACCOUNT_MAX_LENGTH


class StepForm(forms.ModelForm):
    """A page of the journey; its answers are kept in the session until the witness sends them."""

    title = ""

    @cached_property
    def helper(self):
        # Built only for the page that shows the form: check your answers and send only validate.
        helper = FormHelper()
        # The server checks every answer and says what is wrong in GOV.UK words; browsers' own checks would not.
        helper.attrs = {"novalidate": True}
        helper.layout = Layout(*self.layout_fields(), Submit("continue", "Continue"))
        return helper

    def layout_fields(self):
        raise NotImplementedError

    @classmethod
    @cache
    def blank_inputs(cls):
        """The page's inputs before anything is typed: the same for every witness, so rendered once per process.

        Without the form tag and its CSRF token, which the page adds around them.
        """
        form = cls()
        form.helper.form_tag = False
        form.helper.disable_csrf = True
        return render_crispy_form(form)

    def _post_clean(self):
        """Each field's own checks, as ModelForm makes them, without the model's constraints.

        The constraints are about the whole submission, which no single page holds: create_submission's
        insert is where they hold. Checked here, each would build a query only to find its fields missing.
        """
        exclude = self._get_validation_exclusions()
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
            self.instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            self._update_errors(error)

    def data_to_keep(self):
        """The posted values of this page's own inputs, and nothing else the browser sent."""
        names = []
        for bound in self:
            widget = bound.field.widget
            if isinstance(widget, forms.MultiWidget):
                names += [bound.html_name + suffix for suffix in widget.widgets_names]
            else:
                names.append(bound.html_name)
        return {name: self.data[name][:KEPT_CHARACTERS] for name in names if name in self.data}

    def error_links(self):
        """Each error message with the id of the input it is about, for the error summary."""
        fields = list(self)
        links = [(error_anchor(fields[0]), error) for error in self.non_field_errors()]
        for bound in fields:
            for error in bound.errors:
                links.append((error_anchor(bound), error))
        return links


def error_anchor(bound):
    if hasattr(bound, "error_anchor"):
        return bound.error_anchor
    if isinstance(bound.field.widget, forms.RadioSelect):
        # The GOV.UK template pack numbers radios from 1.
        return f"{bound.auto_id}_1"
    return bound.id_for_label


class AccountField(forms.CharField):
    def to_python(self, value):
        # Browsers send a line break as two characters; the character count counts one, and so do we.
        return super().to_python(value).replace("\r\n", "\n")


class AccountForm(StepForm):
    title = "What did you see or hear?"

    class Meta:
        model = Submission
        fields = ["account"]
        field_classes = {"account": AccountField}
        labels = {"account": "What did you see or hear?"}
        help_texts = {
            "account": "Tell us in your own words. Include anything you noticed about the people or vehicles "
            "involved, and what footage or photos you have, if any."
        }
        error_messages = {
            "account": {
                "required": "Enter what you saw or heard",
                "max_length": f"What you saw or heard must be {ACCOUNT_MAX_LENGTH:,} characters or less",
            }
        }

    def layout_fields(self):
        return [
            Field(
                "account",
                template="submissions/includes/character_count.html",
                context={"max_characters": ACCOUNT_MAX_LENGTH, "max_characters_written": f"{ACCOUNT_MAX_LENGTH:,}"},
            )
        ]


class WhenForm(StepForm):
    title = "When did you see it?"

    seen_on = DateField(
        what="The date you saw it",
        label="Date",
        help_text="For example, 18 3 2021. Leave blank if you are not sure.",
    )
    seen_at_time = TimeField(
        what="The time you saw it",
        label="Time, roughly",
        help_text="For example, 7:10pm or 19:10. Leave blank if you are not sure.",
    )

    class Meta:
        model = Submission
        fields = ["seen_on", "seen_at_time"]

    def layout_fields(self):
        return [
            Field("seen_on", template="submissions/includes/date_input.html"),
            Field.text("seen_at_time", field_width=Fixed.TEN),
        ]


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
        field_classes = {"contact_phone": PhoneNumberField}
        # A TextInput of type email: the template pack marks only text inputs as in error.
        widgets = {"contact_email": forms.TextInput(attrs={"input_type": "email"})}
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
        # Only when neither was typed: a mistyped one has its own message.
        if not (self.data.get("contact_email", "").strip() or self.data.get("contact_phone", "").strip()):
            self.add_error("contact_email", "Enter an email address or a phone number, or go back and choose anonymous")
        return cleaned

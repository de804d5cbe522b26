from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from appeals.models import Appeal, AppealImage, AppealUpdate
from appeals.templatetags.govuk import govuk_datetime


class AppealUpdateInline(admin.StackedInline):
    model = AppealUpdate
    extra = 0


class AppealImageForm(forms.ModelForm):
    withdraw = forms.BooleanField(
        label="Withdraw this image",
        required=False,
        help_text="Removes it from the public page, share previews and caches at once, when you save. "
        "This cannot be undone.",
    )

    class Meta:
        model = AppealImage
        fields = ["original", "alt_text", "caption", "position", "keep_after_closing"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The public copy is made once: a replacement is a new image, with a new address.
            self.fields["original"].disabled = True
            # Kept under a generated name with no extension: checking the extension again would refuse every save.
            self.fields["original"].validators = []
            self.fields["original"].help_text = "To replace the image, withdraw this one and add a new one."
        if not self.instance.pk or self.instance.withdrawn_at:
            self.fields["withdraw"].disabled = True


class AppealImageInline(admin.StackedInline):
    model = AppealImage
    form = AppealImageForm
    extra = 0
    # Withdrawn, not deleted: the row is the record of what the public were shown, and until when.
    can_delete = False
    fields = ["original", "public_preview", "alt_text", "caption", "position", "keep_after_closing", "withdraw"]
    readonly_fields = ["public_preview"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appeal", "withdrawn_by")

    @admin.display(description="As the public see it")
    def public_preview(self, image):
        if not image.pk:
            return "Shown once saved: a copy with all metadata (such as location and camera) removed."
        if image.withdrawn_at:
            by = f" by {image.withdrawn_by}" if image.withdrawn_by else ""
            return f"Withdrawn on {govuk_datetime(image.withdrawn_at)}{by}: no longer shown to the public."
        url = reverse("appeals:image", args=[image.appeal.slug, image.pk])
        return format_html('<img src="{}" alt="{}" width="{}">', url, image.alt_text, min(image.width, 320))


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["headline", "incident", "status", "published_at", "preview_link"]
    list_filter = ["status"]
    list_select_related = ["incident"]
    search_fields = ["headline", "incident__reference", "slug"]
    prepopulated_fields = {"slug": ["headline"]}
    # Status changes only through publish and close, which also stamp their dates.
    readonly_fields = ["preview_link", "status", "published_at", "closed_at", "created_at", "updated_at"]
    inlines = [AppealImageInline, AppealUpdateInline]
    actions = ["publish_appeals", "close_appeals"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "incident":
            kwargs["queryset"] = db_field.related_model.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Preview")
    def preview_link(self, appeal):
        if not appeal.pk:
            return "-"
        return format_html('<a href="{}">Preview the public page</a>', reverse("appeals:preview", args=[appeal.slug]))

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not AppealImage:
            return
        for image_form in formset.forms:
            image = image_form.instance
            if image_form.cleaned_data.get("withdraw") and image.withdraw(by=request.user):
                self.log_change(request, form.instance, f"Withdrew the image “{image}”")
                self.message_user(request, f"Withdrawn: the image “{image}”.", messages.SUCCESS)

    def get_urls(self):
        return [
            *[
                path(
                    f"<int:pk>/{change}/",
                    self.admin_site.admin_view(require_POST(self.status_view)),
                    {"change": change},
                    name=f"appeals_appeal_{change}",
                )
                for change in ["publish", "close"]
            ],
            *super().get_urls(),
        ]

    def status_view(self, request, pk, change):
        appeal = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, appeal):
            raise PermissionDenied
        self._change_status(request, [appeal], change)
        return redirect("admin:appeals_appeal_change", pk)

    @admin.action(description="Publish the selected appeals", permissions=["change"])
    def publish_appeals(self, request, queryset):
        self._change_status(request, queryset, "publish")

    @admin.action(description="Close the selected appeals", permissions=["change"])
    def close_appeals(self, request, queryset):
        self._change_status(request, queryset, "close")

    def _change_status(self, request, appeals, change):
        done = []
        for appeal in appeals:
            if change == "publish" and appeal.status != Appeal.Status.PUBLISHED:
                appeal.publish()
            elif change == "close" and appeal.status == Appeal.Status.PUBLISHED:
                appeal.close(by=request.user)
            else:
                continue
            self.log_change(request, appeal, f"{change.capitalize()}ed")
            done.append(appeal.headline)
        verb = "Published" if change == "publish" else "Closed"
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Nothing to do: already {verb.lower()}.", messages.WARNING)


@admin.register(AppealUpdate)
class AppealUpdateAdmin(admin.ModelAdmin):
    """Post an update (an arrest, a charge, a closure) to an appeal's public timeline."""

    list_display = ["title", "appeal", "posted_at"]
    list_select_related = ["appeal"]
    search_fields = ["title", "appeal__headline"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(appeal__in=Appeal.objects.visible_to(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "appeal":
            kwargs["queryset"] = Appeal.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

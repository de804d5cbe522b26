from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from appeals.models import Appeal, AppealImage, AppealUpdate


class AppealUpdateInline(admin.StackedInline):
    model = AppealUpdate
    extra = 0


class AppealImageForm(forms.ModelForm):
    class Meta:
        model = AppealImage
        fields = ["original", "alt_text", "caption", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The public copy is made once, and browsers keep it for a day: a replacement is a new image.
            self.fields["original"].disabled = True
            self.fields["original"].help_text = "To replace the image, delete this one and add a new one."


class AppealImageInline(admin.StackedInline):
    model = AppealImage
    form = AppealImageForm
    extra = 0
    fields = ["original", "public_preview", "alt_text", "caption", "position"]
    readonly_fields = ["public_preview"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appeal")

    @admin.display(description="As the public see it")
    def public_preview(self, image):
        if not image.pk:
            return "Shown once saved: a copy with all metadata (such as location and camera) removed."
        url = reverse("appeals:image", args=[image.appeal.slug, image.pk])
        return format_html('<img src="{}" alt="{}" width="{}">', url, image.alt_text, min(image.width, 320))


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["headline", "incident", "status", "published_at", "preview_link"]
    list_filter = ["status"]
    list_select_related = ["incident"]
    search_fields = ["headline", "incident__reference", "slug"]
    prepopulated_fields = {"slug": ["headline"]}
    readonly_fields = ["preview_link", "published_at", "closed_at", "created_at", "updated_at"]
    inlines = [AppealImageInline, AppealUpdateInline]

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

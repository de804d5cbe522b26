from django.shortcuts import get_object_or_404, render

from appeals.models import Appeal


def appeal_list(request):
    appeals = Appeal.objects.published().select_related("incident")
    return render(
        request,
        "appeals/appeal_list.html",
        {
            "open_appeals": [appeal for appeal in appeals if appeal.is_open()],
            "closed_appeals": [appeal for appeal in appeals if not appeal.is_open()],
        },
    )


def appeal_detail(request, slug):
    appeal = get_object_or_404(Appeal.objects.published().select_related("incident"), slug=slug)
    return render(request, "appeals/appeal_detail.html", {"appeal": appeal, "updates": appeal.updates.all()})

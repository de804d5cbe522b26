import pytest
from django.db import IntegrityError

from appeals.models import Appeal
from tests.factories import make_appeal


@pytest.mark.django_db
def test_published_lists_open_and_closed_appeals_but_never_drafts():
    open_appeal = make_appeal(headline="Open")
    closed_appeal = make_appeal(headline="Closed", status=Appeal.Status.CLOSED, incident=open_appeal.incident)
    make_appeal(headline="Draft", status=Appeal.Status.DRAFT, incident=open_appeal.incident)

    assert set(Appeal.objects.published()) == {open_appeal, closed_appeal}
    assert list(Appeal.objects.open()) == [open_appeal]


@pytest.mark.django_db
def test_a_published_appeal_needs_a_publication_date():
    appeal = make_appeal(status=Appeal.Status.DRAFT)
    with pytest.raises(IntegrityError):
        Appeal.objects.filter(pk=appeal.pk).update(status=Appeal.Status.PUBLISHED)


@pytest.mark.django_db
def test_closing_an_appeal_records_when():
    appeal = make_appeal()
    appeal.close()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED
    assert appeal.closed_at is not None
    assert not appeal.is_open()

"""Records written once and never changed or deleted: officers' notes and the audit trail."""

from django.db import models


class AppendOnly(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        self.model.refuse("changed")

    def delete(self):
        self.model.refuse("deleted")


class AppendOnlyModel(models.Model):
    """Saving a row again, or deleting it, raises `refused` (an AppendOnly), saying "<refused_name> cannot be ..."."""

    refused = AppendOnly
    refused_name = "Records"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.refuse("changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.refuse("deleted")

    @classmethod
    def refuse(cls, change):
        raise cls.refused(f"{cls.refused_name} cannot be {change}.")

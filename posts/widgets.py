"""Admin widgets shared by the apps that edit posts and what hangs on them."""

from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.translation import gettext_lazy as _


class LabelledSplitDateTime(AdminSplitDateTime):
    """Django's date-and-time pair with each box named for screen readers: the stock widget
    writes "Date:" and "Time:" as bare text beside two unlabelled inputs (axe: label)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = _("Date")
        self.widgets[1].attrs["aria-label"] = _("Time")

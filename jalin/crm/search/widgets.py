"""The account picker: a typeahead instead of a <select> of every account (an organization
may have 100,000). A text box searches `crm:account_lookup`; the chosen id travels in a
hidden input; the form field's queryset (this organization's live accounts) and the service
re-check whatever id arrives."""

from django import forms
from django.urls import reverse

from jalin.core.params import int_param


class AccountPickerWidget(forms.Widget):
    template_name = "crm/search/_account_picker.html"

    def __init__(self, *, queryset, exclude=None, attrs=None):
        super().__init__(attrs)
        self.queryset = queryset
        self.exclude = exclude

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        account_id = getattr(value, "pk", value)
        label = ""
        pk = int_param(account_id, positive=True)
        if pk:
            label = (self.queryset.filter(pk=pk).values_list("name", flat=True)
                     .first() or "")
        context["widget"].update(label=label, lookup_url=reverse("crm:account_lookup"),
                                 exclude=self.exclude or "",
                                 value="" if account_id is None else str(account_id))
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name) or None

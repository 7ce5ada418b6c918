from django import forms
from django.utils.translation import gettext_lazy as _

from jalin.tenancy.forms import add_tenancy_error

from .models import Category, PriceList, Product, TradingRelationship
from .selectors import SEARCH_MAX_LENGTH
from .services import CATEGORY_FIELDS, PRICE_LIST_FIELDS, PRODUCT_FIELDS, RELATIONSHIP_FIELDS

__all__ = ["add_tenancy_error"]


class VersionedForm(forms.ModelForm):
    """A ModelForm whose hidden `version` is the one the person started editing from."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def changes(self):
        return {name: self.cleaned_data[name] for name in self._meta.fields
                if name in self.cleaned_data}

    def _post_clean(self):
        # Services validate the whole row (and know the owner); the form only parses fields.
        pass


def _supplier_categories(supplier):
    return Category.objects.filter(supplier=supplier).order_by("name")


class ProductForm(VersionedForm):
    class Meta:
        model = Product
        fields = list(PRODUCT_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _supplier_categories(supplier)


class CategoryForm(VersionedForm):
    class Meta:
        model = Category
        fields = list(CATEGORY_FIELDS)

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = _supplier_categories(supplier)
        if self.instance.pk:
            queryset = queryset.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = queryset
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Leave empty to derive it from the name.")


class PriceListForm(VersionedForm):
    class Meta:
        model = PriceList
        fields = list(PRICE_LIST_FIELDS)
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"}),
                   "valid_to": forms.DateInput(attrs={"type": "date"})}


class PriceItemForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    min_quantity = forms.IntegerField(label=_("From quantity"), min_value=1, initial=1,
                                      max_value=2**31 - 1)
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, max_digits=18,
                                    decimal_places=4)


class RelationshipForm(VersionedForm):
    buyer = forms.SlugField(
        label=_("Buyer organization"), max_length=60,
        help_text=_("The buyer's short name on the hub, e.g. toko-maju."),
    )

    class Meta:
        model = TradingRelationship
        fields = list(RELATIONSHIP_FIELDS) + ["categories"]
        widgets = {"categories": forms.CheckboxSelectMultiple}

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price_list"].queryset = PriceList.objects.filter(
            supplier=supplier, is_base=False
        )
        self.fields["categories"].queryset = _supplier_categories(supplier)
        if self.instance.pk:
            del self.fields["buyer"]  # a relationship's parties never change

    def changes(self):
        return {name: self.cleaned_data[name] for name in RELATIONSHIP_FIELDS}


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("SKU or name starts with"), required=False,
                        max_length=SEARCH_MAX_LENGTH)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.none(),
                                      required=False)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("All")), ("yes", _("Active")), ("no", _("Inactive")),
    ])

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories

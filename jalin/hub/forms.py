from django import forms
from django.utils.translation import gettext_lazy as _

from jalin.tenancy.forms import add_tenancy_error

from .models import (
    CatalogScope,
    Category,
    CustomerGroup,
    PriceList,
    Product,
    TradingRelationship,
)
from .selectors import SEARCH_MAX_LENGTH
from .services import (
    CATEGORY_FIELDS,
    GROUP_FIELDS,
    MAX_ATTRIBUTES,
    PRICE_LIST_FIELDS,
    PRODUCT_FIELDS,
    RELATIONSHIP_FIELDS,
    HubError,
)

PRODUCT_FORM_FIELDS = [name for name in PRODUCT_FIELDS if name not in ("variant_of",
                                                                         "attributes")]


def attributes_to_text(attributes):
    return "\n".join(f"{name}: {value}" for name, value in (attributes or {}).items())


def attributes_from_text(text):
    """"Name: value" lines (or "Name=value") → [(name, value)]; the services check them."""
    pairs = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        separator = ":" if ":" in line else "="
        name, found, value = line.partition(separator)
        if not found:
            raise HubError(_("Write each attribute as “name: value” on its own line."),
                           code="invalid_attributes", field="attributes")
        pairs.append((name.strip(), value.strip()))
    return pairs

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
    parent_sku = forms.CharField(
        label=_("Variant of (SKU of the family)"), max_length=64, required=False,
        help_text=_("Leave empty for a product of its own or the head of a family."))
    attributes_text = forms.CharField(
        label=_("Attributes"), required=False, max_length=MAX_ATTRIBUTES * 130,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, e.g. “Colour: White”."))

    class Meta:
        model = Product
        fields = PRODUCT_FORM_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier = supplier
        self.fields["category"].queryset = _supplier_categories(supplier)
        if self.instance.pk and not self.is_bound:
            self.initial["parent_sku"] = (self.instance.variant_of.sku
                                          if self.instance.variant_of_id else "")
            self.initial["attributes_text"] = attributes_to_text(self.instance.attributes)

    ALIASES = {"attributes": "attributes_text", "variant_of": "parent_sku"}

    def add_error(self, field, error):
        super().add_error(self.ALIASES.get(field, field), error)

    def changes(self):
        """The fields to save; HubError for an unknown parent SKU or bad attribute lines."""
        data = {name: self.cleaned_data[name] for name in PRODUCT_FORM_FIELDS
                if name in self.cleaned_data}
        parent_sku = (self.cleaned_data.get("parent_sku") or "").strip()
        parent = None
        if parent_sku:
            parent = Product.objects.filter(supplier=self.supplier, sku=parent_sku).first()
            if parent is None:
                raise HubError(_("No product has this SKU."), code="not_found",
                               field="parent_sku")
        data["variant_of"] = parent
        data["attributes"] = attributes_from_text(self.cleaned_data.get("attributes_text"))
        return data


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
        self.fields["group"].queryset = CustomerGroup.objects.filter(supplier=supplier)
        self.fields["group"].help_text = _(
            "Prices from the group's list apply where the customer's own list has none.")
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


class CustomerGroupForm(VersionedForm):
    class Meta:
        model = CustomerGroup
        fields = list(GROUP_FIELDS) + ["categories"]
        widgets = {"categories": forms.CheckboxSelectMultiple}

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price_list"].queryset = PriceList.objects.filter(supplier=supplier,
                                                                      is_base=False)
        self.fields["categories"].queryset = _supplier_categories(supplier)
        self.fields["catalog_scope"].choices = [("", _("No default"))] + list(
            CatalogScope.choices)

    def changes(self):
        return {name: self.cleaned_data[name] for name in GROUP_FIELDS}


class ImageUploadForm(forms.Form):
    file = forms.FileField(label=_("Image"))
    alt_text = forms.CharField(label=_("Description (for screen readers)"), max_length=200,
                               required=False)


class CatalogImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Import"), choices=[
        ("products", _("Products")), ("prices", _("Price list items"))])
    file = forms.FileField(label=_("CSV file"))

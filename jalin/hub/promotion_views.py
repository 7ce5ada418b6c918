"""Supplier pages for promotions (catalog area): list, new, edit, deactivate. The pricing
rule is in `pricing`; the writes in `promotions`."""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.models import Organization
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW

from . import promotions
from .models import Category, CustomerGroup, Product, Promotion, TradingRelationship
from .views import _can_edit, _save

MAX_SKUS = 500


class PromotionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    code = forms.CharField(label=gettext_lazy("Code"), max_length=40, required=False,
                           help_text=gettext_lazy("Optional, e.g. for campaigns."))
    starts_on = forms.DateField(label=gettext_lazy("From"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=gettext_lazy("Until"),
                              widget=forms.DateInput(attrs={"type": "date"}))
    discount_percent = forms.DecimalField(label=gettext_lazy("Discount (%)"), max_digits=5,
                                          decimal_places=2)
    skus = forms.CharField(
        label=gettext_lazy("Products (SKUs)"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("SKUs separated by commas or lines; empty with no categories: "
                               "the whole catalog."))
    categories = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Categories (and everything below them)"), required=False,
        queryset=Category.objects.none(), widget=forms.CheckboxSelectMultiple)
    customer_groups = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Customer groups"), required=False,
        queryset=CustomerGroup.objects.none(), widget=forms.CheckboxSelectMultiple)
    buyers = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Customers (none and no groups: every customer)"), required=False,
        queryset=Organization.objects.none(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier = supplier
        self.fields["categories"].queryset = Category.objects.filter(supplier=supplier)
        self.fields["customer_groups"].queryset = CustomerGroup.objects.filter(
            supplier=supplier)
        self.fields["buyers"].queryset = Organization.objects.filter(
            pk__in=TradingRelationship.objects.filter(supplier=supplier).values("buyer_id")
        ).order_by("name")

    def clean_skus(self):
        skus = [part for part in re.split(r"[\s,;]+", self.cleaned_data["skus"] or "") if part]
        if len(skus) > MAX_SKUS:
            raise forms.ValidationError(_("At most %(max)s SKUs.") % {"max": MAX_SKUS})
        found = dict(Product.objects.filter(supplier=self.supplier, sku__in=skus)
                     .values_list("sku", "pk"))
        unknown = [sku for sku in skus if sku not in found]
        if unknown:
            raise forms.ValidationError(_("Unknown SKUs: %(skus)s")
                                        % {"skus": ", ".join(unknown[:10])})
        return [found[sku] for sku in skus]

    def values(self):
        data = self.cleaned_data
        return {"name": data["name"], "code": data["code"], "starts_on": data["starts_on"],
                "ends_on": data["ends_on"], "discount_percent": data["discount_percent"],
                "products": data["skus"], "categories": list(data["categories"]),
                "customer_groups": list(data["customer_groups"]),
                "buyers": list(data["buyers"])}


def _initial(promotion):
    return {
        "version": promotion.version, "name": promotion.name, "code": promotion.code,
        "starts_on": promotion.starts_on, "ends_on": promotion.ends_on,
        "discount_percent": promotion.discount_percent,
        "skus": ", ".join(promotion.products.order_by("sku").values_list("sku", flat=True)),
        "categories": list(promotion.categories.all()),
        "customer_groups": list(promotion.customer_groups.all()),
        "buyers": list(promotion.buyers.all()),
    }


def status_of(promotion, today):
    if not promotion.is_active:
        return "inactive"
    if promotion.starts_on > today:
        return "scheduled"
    if promotion.ends_on < today:
        return "ended"
    return "running"


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def promotion_list(request):
    supplier = request.organization
    can_edit = _can_edit(request)
    form = PromotionForm(request.POST or None, supplier=supplier) if can_edit else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        saved, status = _save(form, lambda: promotions.promotion_create(
            supplier=supplier, actor=request.user, **form.values()))
        if saved is not None:
            messages.success(request, _("Promotion %(name)s created.") % {"name": saved.name})
            return redirect("hub:promotions")
    today = timezone.localdate()
    rows = [(promotion, status_of(promotion, today)) for promotion in
            Promotion.objects.filter(supplier=supplier).order_by("-starts_on", "-id")[:200]]
    return render(request, "hub/promotions.html", {
        "rows": rows, "form": form, "can_edit": can_edit}, status=status)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def promotion_edit(request, pk):
    promotion = get_for_org_or_404(Promotion, request.organization, pk=pk)
    form = PromotionForm(request.POST or None, initial=_initial(promotion),
                         supplier=request.organization)
    status = 200
    if request.method == "POST":
        saved, status = _save(form, lambda: promotions.promotion_update(
            promotion=promotion, actor=request.user, version=form.cleaned_data["version"] or 0,
            **form.values()))
        if saved is not None:
            messages.success(request, _("Promotion %(name)s saved.") % {"name": saved.name})
            return redirect("hub:promotions")
    return render(request, "hub/promotion_form.html", {
        "form": form, "promotion": promotion,
        "status": status_of(promotion, timezone.localdate())}, status=status)


@org_required(CATALOG_EDIT)
@require_POST
def promotion_deactivate(request, pk):
    promotion = get_for_org_or_404(Promotion, request.organization, pk=pk)
    promotions.promotion_deactivate(promotion=promotion, actor=request.user)
    messages.success(request, _("Promotion %(name)s stopped.") % {"name": promotion.name})
    return redirect("hub:promotions")

"""Hub pages. Supplier side (/hub/catalog/): products, categories, price lists, customers.
Buyer side (/hub/shop/): the suppliers it trades with and their catalogs at its own prices.

Views stay thin: reads through `selectors` (scoped to the acting organization), writes through
`services`; a refused write re-renders the form with the reason and a 4xx status.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import selectors, services
from .forms import (
    CategoryForm,
    PriceItemForm,
    PriceListForm,
    ProductFilterForm,
    ProductForm,
    RelationshipForm,
    add_tenancy_error,
)
from .images import primary_images
from .models import Category, PriceList, PriceListItem, Product

PER_PAGE = 50


def _save(form, write):
    """Run a service write for a valid form; map refusals onto the form. Returns (obj, status)."""
    if not form.is_valid():
        return None, 400
    try:
        return write(), 200
    except StaleVersion as error:
        form.add_error(None, error.message)
        return None, 409
    except TenancyError as error:
        add_tenancy_error(form, error)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
    return None, 400


def _can_edit(request):
    return has_perm(request.membership, CATALOG_EDIT)


# --- Supplier: products --------------------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_GET
def catalog(request):
    organization = request.organization
    if not organization.is_supplier:
        return redirect("hub:shop")
    categories = selectors.categories_for_supplier(supplier=organization)
    form = ProductFilterForm(request.GET, categories=categories)
    filters = form.cleaned_data if form.is_valid() else {}
    active = {"yes": True, "no": False}.get(filters.get("active") or "")
    category = filters.get("category")
    products = selectors.products_for_supplier(
        supplier=organization, search=filters.get("q", ""),
        category_id=category.pk if category else None, is_active=active,
    )
    page = keyset_paginate(products.select_related("variant_of"), request.GET,
                           per_page=PER_PAGE)
    primary = primary_images([product.pk for product in page.items])
    for product in page.items:
        product.image_id = primary.get(product.pk)
    return render(request, "hub/catalog.html", {
        "page": page,
        "filter_form": form,
        "is_filtered": any(filters.values()),
        "can_edit": _can_edit(request),
    })


def _product_form_page(request, *, product=None):
    supplier = request.organization
    initial = {"version": product.version} if product else {}
    form = ProductForm(request.POST or None, instance=product, initial=initial,
                       supplier=supplier)
    status = 200
    if request.method == "POST":
        if product is None:
            def write():
                data = form.changes()
                return services.product_create(supplier=supplier, actor=request.user,
                                               sku=data.pop("sku"), name=data.pop("name"),
                                               **data)
        else:
            def write():
                return services.product_update(product=product, actor=request.user,
                                               version=form.cleaned_data["version"] or 0,
                                               **form.changes())
        saved, status = _save(form, write)
        if saved is not None:
            messages.success(request, _("Product %(sku)s saved.") % {"sku": saved.sku})
            return redirect("hub:product_detail", pk=saved.pk)
    return render(request, "hub/product_form.html", {"form": form, "product": product},
                  status=status)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def product_create(request):
    return _product_form_page(request)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def product_edit(request, pk):
    product = get_for_org_or_404(Product, request.organization, pk=pk)
    return _product_form_page(request, product=product)


# --- Supplier: categories ------------------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def categories(request):
    supplier = request.organization
    form = None
    status = 200
    if _can_edit(request):
        form = CategoryForm(request.POST or None, supplier=supplier)
        if request.method == "POST":
            saved, status = _save(form, lambda: services.category_create(
                supplier=supplier, actor=request.user, name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"], parent=form.cleaned_data["parent"],
            ))
            if saved is not None:
                messages.success(request, _("Category %(name)s added.") % {"name": saved.name})
                return redirect("hub:categories")
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "hub/categories.html", {
        "categories": selectors.categories_for_supplier(supplier=supplier)
        .select_related("parent"),
        "form": form,
    }, status=status)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def category_edit(request, pk):
    category = get_for_org_or_404(Category, request.organization, pk=pk)
    form = CategoryForm(request.POST or None, instance=category,
                        initial={"version": category.version}, supplier=request.organization)
    status = 200
    if request.method == "POST":
        saved, status = _save(form, lambda: services.category_update(
            category=category, actor=request.user, version=form.cleaned_data["version"] or 0,
            **form.changes(),
        ))
        if saved is not None:
            messages.success(request, _("Category %(name)s saved.") % {"name": saved.name})
            return redirect("hub:categories")
    return render(request, "hub/category_form.html", {"form": form, "category": category},
                  status=status)


# --- Supplier: price lists -----------------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def price_lists(request):
    supplier = request.organization
    form = PriceListForm(request.POST or None, initial={"currency": supplier.currency})
    status = 200
    if request.method == "POST":
        if not _can_edit(request):
            raise PermissionDenied
        saved, status = _save(form, lambda: services.price_list_create(
            supplier=supplier, actor=request.user, **form.changes()))
        if saved is not None:
            messages.success(request, _("Price list %(name)s created.") % {"name": saved.name})
            return redirect("hub:price_list", pk=saved.pk)
    return render(request, "hub/price_lists.html", {
        "price_lists": selectors.price_lists_for_supplier(supplier=supplier),
        "form": form if _can_edit(request) else None,
    }, status=status)


def _price_list_page(request, price_list, *, form=None, item_form=None, status=200):
    can_edit = _can_edit(request)
    return render(request, "hub/price_list.html", {
        "price_list": price_list,
        "items": selectors.price_list_items(price_list=price_list),
        "form": (form or PriceListForm(instance=price_list,
                                       initial={"version": price_list.version}))
        if can_edit else None,
        "item_form": (item_form or PriceItemForm()) if can_edit else None,
    }, status=status)


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def price_list(request, pk):
    price_list = get_for_org_or_404(PriceList, request.organization, pk=pk)
    if request.method == "GET":
        return _price_list_page(request, price_list)
    if not _can_edit(request):
        raise PermissionDenied
    form = PriceListForm(request.POST, instance=price_list)
    saved, status = _save(form, lambda: services.price_list_update(
        price_list=price_list, actor=request.user, version=form.cleaned_data["version"] or 0,
        **form.changes()))
    if saved is not None:
        messages.success(request, _("Price list saved."))
        return redirect("hub:price_list", pk=saved.pk)
    price_list.refresh_from_db()
    return _price_list_page(request, price_list, form=form, status=status)


@org_required(CATALOG_EDIT)
@require_POST
def price_list_item_set(request, pk):
    price_list = get_for_org_or_404(PriceList, request.organization, pk=pk)
    form = PriceItemForm(request.POST)

    def write():
        product = selectors.products_for_supplier(supplier=request.organization).filter(
            sku=form.cleaned_data["sku"].strip()).first()
        if product is None:
            raise services.HubError(_("No product has this SKU."), code="not_found",
                                    field="sku")
        return services.price_list_item_upsert(
            price_list=price_list, product=product,
            min_quantity=form.cleaned_data["min_quantity"],
            unit_price=form.cleaned_data["unit_price"], actor=request.user)

    saved, status = _save(form, write)
    if saved is None:
        return _price_list_page(request, price_list, item_form=form, status=status)
    messages.success(request, _("Price saved."))
    return redirect("hub:price_list", pk=price_list.pk)


@org_required(CATALOG_EDIT)
@require_POST
def price_list_item_delete(request, pk, item_pk):
    price_list = get_for_org_or_404(PriceList, request.organization, pk=pk)
    item = get_for_org_or_404(PriceListItem.objects.filter(price_list=price_list),
                              request.organization, pk=item_pk)
    services.price_list_item_delete(item=item, actor=request.user)
    messages.success(request, _("Price removed."))
    return redirect("hub:price_list", pk=price_list.pk)


# --- Supplier: customers (trading relationships) -------------------------------------------


@org_required(CATALOG_VIEW)
@require_GET
def customers(request):
    from .invoice_selectors import credit_for

    relationships = selectors.relationships_for_supplier(supplier=request.organization)
    page = keyset_paginate(relationships, request.GET, per_page=PER_PAGE)
    credits = credit_for(page.items)
    for relationship in page.items:
        relationship.credit = credits[relationship.pk]
    return render(request, "hub/customers.html", {
        "page": page, "can_edit": _can_edit(request),
    })


def _customer_form_page(request, *, relationship=None):
    supplier = request.organization
    initial = ({"version": relationship.version} if relationship
               else {"currency": supplier.currency})
    form = RelationshipForm(request.POST or None, instance=relationship, initial=initial,
                            supplier=supplier)
    status = 200
    if request.method == "POST":
        if relationship is None:
            def write():
                return services.relationship_create(
                    supplier=supplier, buyer=services.find_buyer(form.cleaned_data["buyer"]),
                    actor=request.user, categories=form.cleaned_data["categories"],
                    **form.changes())
        else:
            def write():
                return services.relationship_update(
                    relationship=relationship, actor=request.user,
                    version=form.cleaned_data["version"] or 0,
                    categories=form.cleaned_data["categories"], **form.changes())
        saved, status = _save(form, write)
        if saved is not None:
            messages.success(request, _("Terms with %(buyer)s saved.") % {
                "buyer": saved.buyer.name})
            return redirect("hub:customers")
    from .invoice_selectors import credit_for

    credit = credit_for([relationship])[relationship.pk] if relationship else None
    return render(request, "hub/customer_form.html",
                  {"form": form, "relationship": relationship, "credit": credit},
                  status=status)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def customer_create(request):
    return _customer_form_page(request)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk):
    relationship = selectors.relationship_for_supplier_or_404(supplier=request.organization,
                                                              pk=pk)
    return _customer_form_page(request, relationship=relationship)


# --- Buyer: shop ---------------------------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_GET
def shop(request):
    from .invoice_selectors import credit_for

    relationships = list(selectors.suppliers_for_buyer(buyer=request.organization)[:500])
    credits = credit_for(relationships)
    for relationship in relationships:
        relationship.credit = credits[relationship.pk]
    return render(request, "hub/shop.html", {"relationships": relationships})

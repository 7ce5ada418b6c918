"""Hub pages for the catalog extras: product pages with images (supplier), the image files
(supplier and entitled buyers), the buyer's catalog search and product page, customer groups,
and catalog CSV export/import.

Thin: reads through `selectors`/`catalog_search`, writes through `services`, `images` and
`catalog_csv`. Uploads go through `uploads.upload_view`, which stops an oversized body before
it reaches the disk (413).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW, ORDERS_PLACE, has_perm

from . import (
    catalog_csv,
    catalog_search,
    images,
    order_selectors,
    saved_lists,
    selectors,
    services,
    uploads,
)
from .forms import CatalogImportForm, CustomerGroupForm, ImageUploadForm, ProductFilterForm
from .models import (
    CatalogImportJob,
    CatalogImportStatus,
    CustomerGroup,
    PriceList,
    Product,
    ProductImage,
)
from .views import _can_edit, _save

PER_PAGE = 50
IMAGE_CACHE = "private, max-age=86400"


# --- Supplier: product page with images ----------------------------------------------------


def _refused(form_class, message):
    """A form showing `message` on its file field (the body was refused unread)."""
    form = form_class(data={})
    form.is_valid()
    form.errors.clear()
    form.add_error("file", message)
    return form


def _product_page(request, product, *, upload_form=None, status=200):
    return render(request, "hub/product_detail.html", {
        "product": product,
        "variants": list(product.variants.order_by("name", "id")),
        "images": list(product.images.order_by("position", "id")),
        "upload_form": (upload_form or ImageUploadForm()) if _can_edit(request) else None,
        "can_edit": _can_edit(request),
        "max_bytes": images.max_bytes(),
        "max_images": images.MAX_IMAGES,
    }, status=status)


@org_required(CATALOG_VIEW)
@require_GET
def product_detail(request, pk):
    product = get_for_org_or_404(Product.objects.select_related("category", "variant_of"),
                                 request.organization, pk=pk)
    return _product_page(request, product)


@uploads.upload_view(images.max_bytes)
@org_required(CATALOG_EDIT)
@require_POST
def product_image_upload(request, pk):
    product = get_for_org_or_404(Product.objects.select_related("category", "variant_of"),
                                 request.organization, pk=pk)
    if uploads.too_large(request):
        form = _refused(ImageUploadForm, images.too_large_message())
        return _product_page(request, product, upload_form=form, status=413)
    form = ImageUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _product_page(request, product, upload_form=form, status=400)
    try:
        images.image_upload(product=product, actor=request.user,
                            uploaded=form.cleaned_data["file"],
                            alt_text=form.cleaned_data["alt_text"])
    except images.ImageTooLarge as error:
        form.add_error("file", error.message)
        return _product_page(request, product, upload_form=form, status=413)
    except services.HubError as error:
        form.add_error("file" if error.field == "file" else None, error.message)
        return _product_page(request, product, upload_form=form, status=422)
    messages.success(request, _("Image added."))
    return redirect("hub:product_detail", pk=product.pk)


@org_required(CATALOG_EDIT)
@require_POST
def product_image_change(request, pk, image_pk):
    product = get_for_org_or_404(Product, request.organization, pk=pk)
    image = ProductImage.objects.filter(product=product, pk=image_pk).first()
    if image is None:
        raise Http404
    action = request.POST.get("action", "")
    if action == "delete":
        images.image_delete(image=image, actor=request.user)
        messages.success(request, _("Image removed."))
    elif action == "primary":
        images.image_make_primary(image=image, actor=request.user)
    elif action in ("up", "down"):
        images.image_move(image=image, actor=request.user,
                          direction=-1 if action == "up" else 1)
    else:
        return HttpResponseBadRequest(_("Unknown action."))
    return redirect("hub:product_detail", pk=product.pk)


def _visible_image(request, pk):
    return selectors.visible_image(organization=request.organization, pk=pk)


def _image_response(image, field):
    stored = getattr(image, field)
    if not stored:
        raise Http404
    try:
        handle = stored.storage.open(stored.name, "rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    content_type = "image/webp" if field == "thumbnail" else image.content_type
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = IMAGE_CACHE  # an image never changes: a new one gets a new id
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Content-Disposition"] = "inline"
    return response


@org_required(CATALOG_VIEW)
@require_GET
def product_image_file(request, pk):
    return _image_response(_visible_image(request, pk), "file")


@org_required(CATALOG_VIEW)
@require_GET
def product_image_thumbnail(request, pk):
    return _image_response(_visible_image(request, pk), "thumbnail")


# --- Buyer: catalog search and product page ------------------------------------------------


class ShopFilterForm(ProductFilterForm):
    q = forms.CharField(label=gettext_lazy("Search (SKU or name)"), required=False,
                        max_length=selectors.SEARCH_MAX_LENGTH)
    in_stock = forms.BooleanField(label=gettext_lazy("In stock only"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False, choices=[
        ("name", gettext_lazy("Name")), ("sku", gettext_lazy("SKU")),
        ("price", gettext_lazy("Price (lowest first)"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["active"]


def _filters_from(form, request):
    data = form.cleaned_data if form.is_valid() else {}
    category = data.get("category")
    return catalog_search.CatalogFilters(
        search=data.get("q", ""), category_id=category.pk if category else None,
        attributes=catalog_search.parse_attribute_filters(request.GET.getlist("attr")),
        in_stock=bool(data.get("in_stock")), sort=data.get("sort") or "name")


def _entries(relationship, products, on_date):
    """CatalogEntry rows (price, availability, primary image) for products; constant
    number of queries."""
    entries = selectors.with_buyer_prices(relationship=relationship, products=products,
                                          on_date=on_date)
    ids = [entry.product.pk for entry in entries]
    stock_by_product = order_selectors.availability_for(supplier_id=relationship.supplier_id,
                                                        product_ids=ids)
    primary = images.primary_images(ids)
    for entry in entries:
        entry.availability, entry.available = stock_by_product[entry.product.pk]
        entry.image_id = primary.get(entry.product.pk)
    return entries


@org_required(CATALOG_VIEW)
@require_GET
def shop_catalog(request, supplier_id):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    categories = selectors.entitled_categories_list(relationship=relationship)
    form = ShopFilterForm(request.GET, categories=categories)
    filters = _filters_from(form, request)
    today = timezone.localdate()
    try:
        page = catalog_search.search(relationship=relationship, filters=filters,
                                     on_date=today, cursor=request.GET.get("after"),
                                     limit=PER_PAGE)
    except catalog_search.BadCursor:
        page = catalog_search.search(relationship=relationship, filters=filters,
                                     on_date=today, limit=PER_PAGE)
    variants = catalog_search.variants_for(relationship=relationship, filters=filters,
                                           head_ids=[p.pk for p in page.items])
    everything = list(page.items) + [v for rows in variants.values() for v in rows]
    entries = {entry.product.pk: entry for entry in _entries(relationship, everything, today)}
    families = [(entries[p.pk], [entries[v.pk] for v in variants.get(p.pk, [])])
                for p in page.items]
    chosen = {f"{name}:{value}" for name, values in filters.attributes.items()
              for value in values}
    from .invoice_selectors import credit_for

    return render(request, "hub/shop_catalog.html", {
        "relationship": relationship,
        "credit": credit_for([relationship])[relationship.pk],
        "supplier": relationship.supplier,
        "families": families,
        "page": page,
        "filter_form": form,
        "facets": [(name, [(value, f"{name}:{value}" in chosen) for value in values])
                   for name, values in catalog_search.attribute_facets(
                       relationship=relationship)],
        "is_filtered": filters.is_filtered,
        "can_order": has_perm(request.membership, ORDERS_PLACE),
        "my_lists": _my_lists(request, relationship),
    })


def _my_lists(request, relationship):
    """The person's own saved lists with this supplier, for "Add to list" (one query)."""
    if not has_perm(request.membership, ORDERS_PLACE):
        return []
    return list(saved_lists.lists_for(membership=request.membership,
                                      supplier_id=relationship.supplier_id)
                .filter(owner=request.user).order_by("name", "id")[:50])


@org_required(CATALOG_VIEW)
@require_GET
def shop_product(request, supplier_id, pk):
    relationship = selectors.relationship_for_buyer_or_404(buyer=request.organization,
                                                           supplier_id=supplier_id)
    visible = selectors.entitled_products(relationship=relationship)
    product = visible.filter(pk=pk).select_related("variant_of").first()
    if product is None:
        raise Http404
    head = product.variant_of if product.variant_of_id else product
    if product.variant_of_id and not visible.filter(pk=head.pk).exists():
        head = product
    family = [head] + list(visible.filter(variant_of=head).order_by("name", "id"))
    today = timezone.localdate()
    entries = _entries(relationship, family, today)
    return render(request, "hub/shop_product.html", {
        "relationship": relationship, "supplier": relationship.supplier,
        "product": product, "head": entries[0], "variants": entries[1:],
        "picker": _variant_picker(product, family[1:]),
        "images": list(product.images.order_by("position", "id")),
        "can_order": has_perm(request.membership, ORDERS_PLACE),
    })


def _variant_picker(product, variants):
    """[(attribute, [(value, variant, is_current)])] for the attributes in which the family's
    variants differ: each value links to the variant that has it and otherwise matches the
    product being shown as closely as possible."""
    names = []
    for variant in variants:
        for name in variant.attributes or {}:
            if name not in names:
                names.append(name)
    current = product.attributes or {}
    picker = []
    for name in names:
        values = {}
        for variant in variants:
            value = (variant.attributes or {}).get(name)
            if value is None:
                continue
            score = sum(1 for other, wanted in current.items()
                        if other != name and (variant.attributes or {}).get(other) == wanted)
            best = values.get(value)
            if best is None or score > best[0]:
                values[value] = (score, variant)
        if len(values) > 1:
            picker.append((name, [(value, variant, variant.pk == product.pk)
                                  for value, (_score, variant) in sorted(values.items())]))
    return picker


# --- Supplier: customer groups -------------------------------------------------------------


@org_required(CATALOG_VIEW)
@require_http_methods(["GET", "POST"])
def customer_groups(request):
    supplier = request.organization
    form = CustomerGroupForm(request.POST or None, supplier=supplier) \
        if _can_edit(request) else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        saved, status = _save(form, lambda: services.customer_group_create(
            supplier=supplier, actor=request.user,
            categories=form.cleaned_data["categories"], **form.changes()))
        if saved is not None:
            messages.success(request, _("Customer group %(name)s created.")
                             % {"name": saved.name})
            return redirect("hub:customer_groups")
    groups = selectors.customer_groups_for_supplier(supplier=supplier)
    return render(request, "hub/customer_groups.html", {
        "groups": groups, "form": form, "can_edit": _can_edit(request),
    }, status=status)


@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def customer_group_edit(request, pk):
    group = get_for_org_or_404(CustomerGroup, request.organization, pk=pk)
    form = CustomerGroupForm(request.POST or None, instance=group,
                             initial={"version": group.version}, supplier=request.organization)
    status = 200
    if request.method == "POST":
        saved, status = _save(form, lambda: services.customer_group_update(
            group=group, actor=request.user, version=form.cleaned_data["version"] or 0,
            categories=form.cleaned_data["categories"], **form.changes()))
        if saved is not None:
            messages.success(request, _("Customer group %(name)s saved.") % {"name": saved.name})
            return redirect("hub:customer_groups")
    return render(request, "hub/customer_group_form.html", {"form": form, "group": group},
                  status=status)


@org_required(CATALOG_EDIT)
@require_POST
def customer_group_delete(request, pk):
    group = get_for_org_or_404(CustomerGroup, request.organization, pk=pk)
    try:
        services.customer_group_delete(group=group, actor=request.user)
    except services.HubError as error:
        messages.error(request, error.message)
        return redirect("hub:customer_group_edit", pk=group.pk)
    messages.success(request, _("Customer group deleted."))
    return redirect("hub:customer_groups")


# --- Supplier: CSV export and import -------------------------------------------------------


def _csv(lines, filename):
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@org_required(CATALOG_VIEW)
@require_GET
def catalog_export(request):
    """The products of the filtered list (same filters as the catalog page) as CSV."""
    organization = request.organization
    categories = selectors.categories_for_supplier(supplier=organization)
    form = ProductFilterForm(request.GET, categories=categories)
    filters = form.cleaned_data if form.is_valid() else {}
    category = filters.get("category")
    products = selectors.products_for_supplier(
        supplier=organization, search=filters.get("q", ""),
        category_id=category.pk if category else None,
        is_active={"yes": True, "no": False}.get(filters.get("active") or ""))
    return _csv(catalog_csv.export_products(supplier=organization, products=products),
                "products.csv")


@org_required(CATALOG_VIEW)
@require_GET
def price_export(request):
    """Price list items as CSV: every list, or `?price_list=<id>`."""
    price_list = None
    raw = request.GET.get("price_list")
    if raw:
        price_list = get_for_org_or_404(PriceList, request.organization,
                                        pk=int_param(raw, positive=True) or 0)
    return _csv(catalog_csv.export_prices(supplier=request.organization,
                                          price_list=price_list), "prices.csv")


@uploads.upload_view(catalog_csv.max_bytes)
@org_required(CATALOG_EDIT)
@require_http_methods(["GET", "POST"])
def catalog_imports(request):
    supplier = request.organization
    status = 200
    if request.method == "POST" and uploads.too_large(request):
        form = _refused(CatalogImportForm, catalog_csv.too_large_message())
        status = 413
    else:
        form = CatalogImportForm(request.POST or None, request.FILES or None,
                                 initial={"kind": request.GET.get("kind", "products")})
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    job = catalog_csv.import_create(
                        supplier=supplier, actor=request.user, kind=form.cleaned_data["kind"],
                        uploaded=form.cleaned_data["file"])
                except services.HubError as error:
                    form.add_error("file" if error.field == "file" else None, error.message)
                    status = 413 if error.code == "too_large" else 422
                else:
                    return redirect("hub:catalog_import", pk=job.pk)
    jobs = for_org(CatalogImportJob, supplier).select_related("created_by").order_by("-id")
    return render(request, "hub/catalog_imports.html", {
        "form": form, "jobs": list(jobs[:20]),
        "product_headers": catalog_csv.headers("products"),
        "price_headers": catalog_csv.headers("prices"),
    }, status=status)


def _job(request, pk):
    return get_for_org_or_404(CatalogImportJob.objects.select_related("created_by"),
                              request.organization, pk=pk)


@org_required(CATALOG_EDIT)
@require_GET
def catalog_import(request, pk):
    job = _job(request, pk)
    context = {"job": job, "errors": job.errors[:200],
               "running": job.status in catalog_csv.ACTIVE,
               "can_run": job.status == CatalogImportStatus.PREVIEWED}
    if request.headers.get("HX-Request"):
        return render(request, "hub/_catalog_import_status.html", context)
    return render(request, "hub/catalog_import.html", context)


@org_required(CATALOG_EDIT)
@require_POST
def catalog_import_run(request, pk):
    job = _job(request, pk)
    try:
        catalog_csv.import_start(job=job, actor=request.user,
                                 valid_only=bool(request.POST.get("valid_only")))
    except services.HubError as error:
        messages.error(request, error.message)
    return redirect("hub:catalog_import", pk=job.pk)


@org_required(CATALOG_EDIT)
@require_GET
def catalog_import_errors(request, pk):
    """The job's errors per row as CSV (formula-safe cells)."""
    job = _job(request, pk)
    rows = ([error.get("row"), error.get("column"), error.get("message")]
            for error in job.errors)
    return _csv(catalog_csv._lines([_("row"), _("column"), _("message")], rows),
                f"catalog-import-{job.pk}-errors.csv")

"""The catalog extras through the API: product images (upload, list, reorder, primary,
delete, download) and catalog CSV export/import.

Image uploads are multipart (`file`, `alt_text`); the body is stopped before it reaches the
disk when it is larger than `JALIN_PRODUCT_IMAGE_MAX_BYTES` (413), and the product is checked
first (404 for another organization's). Images are served to the supplier and to buyers
entitled to the product; anyone else gets 404. Imports are queued tasks (202) read back with
GET, as in the CRM's imports API.
"""

from datetime import datetime
from typing import Literal

from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jalin.core.params import int_param
from jalin.hub import catalog_csv, images, selectors
from jalin.hub.models import CatalogImportJob, PriceList, Product, ProductImage
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.roles import CATALOG_EDIT, CATALOG_VIEW

from ..auth import BearerTokenAuth, SessionMembershipAuth, require
from ..errors import ProblemError
from ..idempotency import idempotent
from ..pagination import Page, PageParams, paginate
from ..schemas import MAX_INT, Input

router = Router(tags=["hub"])
ERRORS_SHOWN = 100


def _too_large(message):
    return ProblemError(413, code="payload_too_large", detail=message,
                        errors=[{"field": "file", "loc": ["form", "file"], "message": message,
                                 "code": "too_large"}])


class _UploadAuth:
    """Authenticates like the API, but first puts the size limit in front of the upload
    handlers; then answers 404 for a product of another organization before the body is
    parsed, and 413 for an oversized body."""

    def __init__(self, limit, message, model=None, kwarg=None):
        self.inner = [BearerTokenAuth(), SessionMembershipAuth()]
        self.limit, self.message, self.model, self.kwarg = limit, message, model, kwarg

    def __call__(self, request):
        from jalin.hub import uploads

        uploads.install(request, self.limit)
        for auth in self.inner:
            result = auth(request)
            if result:
                break
        else:
            return None
        if self.model is not None:
            match = getattr(request, "resolver_match", None)
            pk = str(match.kwargs.get(self.kwarg, "")) if match else ""
            membership = getattr(request, "membership", None)
            organization = membership.organization if membership else None
            pk = int_param(pk, positive=True)
            if not pk or not for_org(self.model, organization).filter(pk=pk).exists():
                raise Http404
        if uploads.too_large(request):
            raise _too_large(self.message())
        return result


IMAGE_AUTH = [_UploadAuth(images.max_bytes, images.too_large_message, Product, "product_id")]
IMPORT_AUTH = [_UploadAuth(catalog_csv.max_bytes, catalog_csv.too_large_message)]


# --- Images --------------------------------------------------------------------------------


class ImageOut(Schema):
    id: int
    product_id: int
    position: int
    is_primary: bool
    content_type: str
    width: int
    height: int
    byte_size: int
    alt_text: str
    created_at: datetime
    url: str
    thumbnail_url: str

    @staticmethod
    def resolve_url(obj):
        return reverse("api:hub_image_file", kwargs={"image_id": obj.pk})

    @staticmethod
    def resolve_thumbnail_url(obj):
        return reverse("api:hub_image_thumbnail", kwargs={"image_id": obj.pk})


class ImageChangeIn(Input):
    action: Literal["primary", "earlier", "later"]


def _product(membership, product_id):
    return get_for_org_or_404(Product, membership.organization, pk=product_id)


def _image(product, image_id):
    image = ProductImage.objects.filter(product=product, pk=image_id).first()
    if image is None:
        raise Http404
    return image


@router.get("/hub/products/{product_id}/images", response=list[ImageOut])
def image_list(request, product_id: int):
    """Your product's images, primary first then in order."""
    membership = require(request, CATALOG_VIEW)
    product = _product(membership, product_id)
    return list(product.images.order_by("-is_primary", "position", "id"))


@router.post("/hub/products/{product_id}/images", response={201: ImageOut}, auth=IMAGE_AUTH)
def image_upload(request, product_id: int, file: File[UploadedFile], alt_text: Form[str] = ""):
    """Add an image (multipart `file`: JPEG, PNG, WebP or GIF). It is re-encoded without
    metadata; 422 for anything that is not such an image or has too many pixels, 413 when
    too large."""
    membership = require(request, CATALOG_EDIT)
    product = _product(membership, product_id)
    try:
        image = images.image_upload(product=product, actor=request.user, uploaded=file,
                                    alt_text=alt_text)
    except images.ImageTooLarge as error:
        raise _too_large(error.message) from None
    return Status(201, image)


@router.post("/hub/products/{product_id}/images/{image_id}", response=list[ImageOut])
@idempotent
def image_change(request, product_id: int, image_id: int, payload: ImageChangeIn):
    """Make an image primary or move it earlier/later; answers the product's images."""
    membership = require(request, CATALOG_EDIT)
    product = _product(membership, product_id)
    image = _image(product, image_id)
    if payload.action == "primary":
        images.image_make_primary(image=image, actor=request.user)
    else:
        images.image_move(image=image, actor=request.user,
                          direction=-1 if payload.action == "earlier" else 1)
    return list(product.images.order_by("-is_primary", "position", "id"))


@router.delete("/hub/products/{product_id}/images/{image_id}", response={204: None})
@idempotent
def image_delete(request, product_id: int, image_id: int):
    membership = require(request, CATALOG_EDIT)
    product = _product(membership, product_id)
    images.image_delete(image=_image(product, image_id), actor=request.user)
    return Status(204, None)


def _visible_image(membership, image_id):
    return selectors.visible_image(organization=membership.organization, pk=image_id)


BINARY = {"responses": {200: {"content": {"image/*": {}}}}}


@router.get("/hub/images/{image_id}", response={200: bytes}, url_name="hub_image_file",
            openapi_extra=BINARY)
def image_file(request, image_id: int):
    """The image, for its supplier and for buyers entitled to the product (404 otherwise)."""
    from jalin.hub.catalog_views import _image_response

    membership = require(request, CATALOG_VIEW)
    return _image_response(_visible_image(membership, image_id), "file")


@router.get("/hub/images/{image_id}/thumbnail", response={200: bytes},
            url_name="hub_image_thumbnail", openapi_extra=BINARY)
def image_thumbnail(request, image_id: int):
    from jalin.hub.catalog_views import _image_response

    membership = require(request, CATALOG_VIEW)
    return _image_response(_visible_image(membership, image_id), "thumbnail")


# --- CSV export ----------------------------------------------------------------------------


class ExportParams(Schema):
    q: str | None = Field(None, max_length=selectors.SEARCH_MAX_LENGTH)
    category_id: int | None = Field(None, ge=1, le=MAX_INT)
    active: bool | None = None
    language: Literal["en", "id"] = Field("en", description="Header language")


CSV = {"responses": {200: {"content": {"text/csv": {}}}}}


def _csv(lines, filename):
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/hub/exports/products", response={200: str}, openapi_extra=CSV)
def export_products(request, params: Query[ExportParams]):
    """Your products as CSV (same columns the import reads), filtered like GET
    /hub/products."""
    membership = require(request, CATALOG_VIEW)
    organization = membership.organization
    if params.category_id is not None:
        get_for_org_or_404(selectors.categories_for_supplier(supplier=organization),
                           organization, pk=params.category_id)
    products = selectors.products_for_supplier(supplier=organization, search=params.q or "",
                                               category_id=params.category_id,
                                               is_active=params.active)
    return _csv(catalog_csv.export_products(supplier=organization, products=products,
                                            language=params.language), "products.csv")


class PriceExportParams(Schema):
    price_list_id: int | None = Field(None, ge=1, le=MAX_INT)
    language: Literal["en", "id"] = "en"


@router.get("/hub/exports/prices", response={200: str}, openapi_extra=CSV)
def export_prices(request, params: Query[PriceExportParams]):
    """Price list items as CSV (every list, or `price_list_id`)."""
    membership = require(request, CATALOG_VIEW)
    price_list = None
    if params.price_list_id is not None:
        price_list = get_for_org_or_404(PriceList, membership.organization,
                                        pk=params.price_list_id)
    return _csv(catalog_csv.export_prices(supplier=membership.organization,
                                          price_list=price_list, language=params.language),
                "prices.csv")


# --- CSV import ----------------------------------------------------------------------------


class CatalogImportOut(Schema):
    id: int
    kind: str
    original_name: str
    status: str
    total_rows: int
    processed_rows: int
    created_count: int = Field(description="Created (or, before the run, to create)")
    updated_count: int = Field(description="Updated (or, before the run, to update)")
    error_count: int = Field(description="Rows with errors")
    valid_only: bool
    created_at: datetime
    finished_at: datetime | None


class CatalogImportErrorOut(Schema):
    row: int
    column: str
    message: str


class CatalogImportDetailOut(CatalogImportOut):
    errors: list[CatalogImportErrorOut] = Field(description=f"the first {ERRORS_SHOWN} errors")

    @staticmethod
    def resolve_errors(obj):
        return obj.errors[:ERRORS_SHOWN]


class ImportRunIn(Input):
    valid_only: bool = Field(False, description="Write the rows without errors, skip the rest")


def _job(membership, import_id):
    return get_for_org_or_404(CatalogImportJob, membership.organization, pk=import_id)


@router.post("/hub/catalog-imports", response={201: CatalogImportDetailOut}, auth=IMPORT_AUTH)
def catalog_import_create(request, file: File[UploadedFile],
                          kind: Form[Literal["products", "prices"]]):
    """Upload a products or price list CSV (multipart). Every row is checked in the
    background (status queued → running → previewed); poll GET, then POST .../run."""
    membership = require(request, CATALOG_EDIT)
    job = catalog_csv.import_create(supplier=membership.organization, actor=request.user,
                                    kind=kind, uploaded=file)
    return Status(201, job)


@router.get("/hub/catalog-imports", response=Page[CatalogImportOut])
def catalog_import_list(request, params: Query[PageParams]):
    membership = require(request, CATALOG_EDIT)
    return paginate(for_org(CatalogImportJob, membership.organization),
                    cursor=params.cursor, limit=params.limit, order=("-id",))


@router.get("/hub/catalog-imports/{import_id}", response=CatalogImportDetailOut)
def catalog_import_detail(request, import_id: int):
    membership = require(request, CATALOG_EDIT)
    return _job(membership, import_id)


@router.post("/hub/catalog-imports/{import_id}/run", response={202: CatalogImportDetailOut})
@idempotent
def catalog_import_run(request, import_id: int, payload: ImportRunIn | None = None):
    """Queue the import of a checked file: all rows in one transaction, or none while any
    row has errors (unless `valid_only`)."""
    membership = require(request, CATALOG_EDIT)
    job = catalog_csv.import_start(job=_job(membership, import_id), actor=request.user,
                                   valid_only=payload.valid_only if payload else False)
    return Status(202, job)

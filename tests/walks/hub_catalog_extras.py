"""Outsider walk and API-docs routes for the catalog extras: product pages and images,
customer groups, catalog CSV export/import, the buyer's product page."""

from . import OWN, REFUSE, Route

ROUTES = {
    "hub/catalog/products/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_product"},
                                            methods=("GET",)),
    "hub/catalog/products/<int:pk>/images/": Route(REFUSE, kwargs={"pk": "hub_product"},
                                                   methods=("POST",)),
    "hub/catalog/products/<int:pk>/images/<int:image_pk>/": Route(
        REFUSE, kwargs={"pk": "hub_product", "image_pk": "hub_image"}, methods=("POST",)),
    "hub/catalog/export.csv": Route(OWN, methods=("GET",)),
    "hub/catalog/price-lists/export.csv": Route(OWN, methods=("GET",)),
    "hub/catalog/imports/": Route(OWN),
    "hub/catalog/imports/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_import"},
                                           methods=("GET",)),
    "hub/catalog/imports/<int:pk>/run/": Route(REFUSE, kwargs={"pk": "hub_import"},
                                               methods=("POST",)),
    "hub/catalog/imports/<int:pk>/errors.csv": Route(REFUSE, kwargs={"pk": "hub_import"},
                                                     methods=("GET",)),
    "hub/catalog/customers/groups/": Route(OWN),
    "hub/catalog/customers/groups/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "hub_group"}),
    "hub/catalog/customers/groups/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "hub_group"},
                                                           methods=("POST",)),
    "hub/images/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_image"}, methods=("GET",)),
    "hub/images/<int:pk>/thumbnail/": Route(REFUSE, kwargs={"pk": "hub_image"},
                                            methods=("GET",)),
    "hub/shop/<int:supplier_id>/products/<int:pk>/": Route(
        REFUSE, kwargs={"supplier_id": "org", "pk": "hub_product"}, methods=("GET",)),
    "api/v1/hub/customer-groups": Route(OWN, methods=("GET",)),
    "api/v1/hub/customer-groups/<group_id>": Route(
        REFUSE, kwargs={"group_id": "hub_group"}, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "name": "Outsider"}),
    "api/v1/hub/products/<product_id>/images": Route(
        REFUSE, kwargs={"product_id": "hub_product"}, methods=("GET", "POST")),
    "api/v1/hub/products/<product_id>/images/<image_id>": Route(
        REFUSE, kwargs={"product_id": "hub_product", "image_id": "hub_image"},
        methods=("POST", "DELETE"), body={"action": "primary"}),
    "api/v1/hub/images/<image_id>": Route(REFUSE, kwargs={"image_id": "hub_image"},
                                          methods=("GET",)),
    "api/v1/hub/images/<image_id>/thumbnail": Route(REFUSE, kwargs={"image_id": "hub_image"},
                                                    methods=("GET",)),
    "api/v1/hub/exports/products": Route(OWN, methods=("GET",)),
    "api/v1/hub/exports/prices": Route(OWN, methods=("GET",)),
    "api/v1/hub/catalog-imports": Route(OWN, methods=("GET",)),
    "api/v1/hub/catalog-imports/<import_id>": Route(REFUSE, kwargs={"import_id": "hub_import"},
                                                    methods=("GET",)),
    "api/v1/hub/catalog-imports/<import_id>/run": Route(
        REFUSE, kwargs={"import_id": "hub_import"}, methods=("POST",),
        body={"valid_only": True}),
}

API_ROUTES = {
    "/api/v1/hub/customer-groups": {"get", "post"},
    "/api/v1/hub/customer-groups/{group_id}": {"get", "patch", "delete"},
    "/api/v1/hub/products/{product_id}/images": {"get", "post"},
    "/api/v1/hub/products/{product_id}/images/{image_id}": {"post", "delete"},
    "/api/v1/hub/images/{image_id}": {"get"},
    "/api/v1/hub/images/{image_id}/thumbnail": {"get"},
    "/api/v1/hub/exports/products": {"get"},
    "/api/v1/hub/exports/prices": {"get"},
    "/api/v1/hub/catalog-imports": {"get", "post"},
    "/api/v1/hub/catalog-imports/{import_id}": {"get"},
    "/api/v1/hub/catalog-imports/{import_id}/run": {"post"},
}


def victim_records(*, org, owner, records):
    """A victim product image (made with Pillow), a customer group with its list, and a
    catalog import job."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.utils import override_settings
    from PIL import Image

    from jalin.hub import catalog_csv, images, services

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    image = images.image_upload(
        product=records["hub_product"], actor=owner, alt_text="Victim Supply Secret photo",
        uploaded=SimpleUploadedFile("victim.png", buffer.getvalue(), content_type="image/png"))
    group = services.customer_group_create(supplier=org, actor=owner,
                                           name="Victim Supply Secret Group",
                                           price_list=records["hub_price_list"])
    with override_settings(TASKS={"default": {
            "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}):
        job = catalog_csv.import_create(
            supplier=org, actor=owner, kind="products",
            uploaded=SimpleUploadedFile(
                "victim.csv", b"SKU,Name\nVICTIM-NEW,Victim Supply Secret import\n",
                content_type="text/csv"))
    return {"hub_image": image, "hub_group": group, "hub_import": job}

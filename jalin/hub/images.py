"""Product images: checked and re-encoded with Pillow, stored privately with a thumbnail.

`image_upload` reads the upload with Pillow (JPEG, PNG, WebP or GIF only; the client's name
and Content-Type are never trusted), refuses anything that is not such an image, larger than
`settings.JALIN_PRODUCT_IMAGE_MAX_BYTES` (413) or with more than `MAX_PIXELS` pixels (a
"decompression bomb": a small file that would unpack into gigabytes), applies the EXIF
orientation, scales it to at most `MAX_SIDE` pixels a side and saves it again — which drops
every piece of metadata (EXIF with GPS positions, comments, ICC profiles) and any payload hidden
after the image data. JPEG stays JPEG, WebP stays WebP, everything else becomes PNG. A
`THUMB_SIDE` WebP thumbnail is made at the same time.

Files live in the `private` storage under `hub/<supplier id>/images/<uuid4>.<ext>`; they are
served only by `views.product_image` to the supplier and to buyers entitled to the product.
Every change writes the audit log and emits `hub.product.image_added|image_removed|
image_primary` (organization = the supplier).
"""

import io
import uuid
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import Product, ProductImage
from .services import HubError, _record

MAX_PIXELS = 40_000_000  # e.g. 8000 × 5000; bigger is refused before decoding
MAX_SIDE = 2000
THUMB_SIDE = 320
MAX_IMAGES = 10
ACCEPTED = ("JPEG", "PNG", "WEBP", "GIF")
OUTPUT = {"JPEG": ("JPEG", "image/jpeg", "jpg"), "WEBP": ("WEBP", "image/webp", "webp")}
PNG = ("PNG", "image/png", "png")


class ImageProblem(HubError):
    def __init__(self, message, *, code="invalid_image"):
        super().__init__(message, code=code, field="file")


class ImageTooLarge(ImageProblem):
    """413."""

    def __init__(self, message=None):
        super().__init__(message or too_large_message(), code="too_large")


def max_bytes():
    return settings.JALIN_PRODUCT_IMAGE_MAX_BYTES


def too_large_message():
    return _("The image is too large: at most %(size)s MB.") % {
        "size": f"{max_bytes() / (1024 * 1024):g}"}


def _encode(image, format_name, *, quality=85):
    out = io.BytesIO()
    if format_name == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=quality, optimize=True)
    elif format_name == "WEBP":
        image.save(out, "WEBP", quality=quality)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def process(data):
    """(image bytes, content type, extension, width, height, thumbnail bytes) or
    ImageProblem/ImageTooLarge."""
    if len(data) > max_bytes():
        raise ImageTooLarge()
    if not data:
        raise ImageProblem(_("The file is empty."))
    refused = ImageProblem(_("This is not a picture Jalin accepts: upload a JPEG, PNG, WebP "
                             "or GIF image."))
    try:
        with warnings.catch_warnings():
            # Pillow warns (DecompressionBombWarning) before it refuses; both are refusals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED)
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise ImageProblem(
                    _("The image has too many pixels (at most %(max)d million).")
                    % {"max": MAX_PIXELS // 1_000_000}, code="too_many_pixels")
            source_format = image.format
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProblem(_("The image has too many pixels (at most %(max)d million).")
                           % {"max": MAX_PIXELS // 1_000_000}, code="too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise refused from exc
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode == "P"
                              else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    format_name, content_type, extension = OUTPUT.get(source_format, PNG)
    clean = Image.new(image.mode, image.size)
    clean.paste(image)  # a fresh image: no info dict, no EXIF, no ICC profile
    encoded = _encode(clean, format_name)
    thumb = clean.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return encoded, content_type, extension, clean.width, clean.height, _encode(thumb, "WEBP")


def _read(uploaded):
    if uploaded is None:
        raise ImageProblem(_("Choose an image."), code="required")
    if getattr(uploaded, "size", 0) and uploaded.size > max_bytes():
        raise ImageTooLarge()
    data = uploaded.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise ImageTooLarge()
    return data


def image_upload(*, product, actor, uploaded, alt_text=""):
    """Add an image to `product` (the first one becomes primary)."""
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > 200:
        raise HubError(_("The description has at most 200 characters."), code="too_long",
                       field="alt_text")
    encoded, content_type, extension, width, height, thumb = process(_read(uploaded))
    stem = f"hub/{product.supplier_id}/images/{uuid.uuid4().hex}"
    storage = ProductImage._meta.get_field("file").storage
    written = []
    try:
        with transaction.atomic():
            locked = Product.objects.select_for_update().get(pk=product.pk)
            existing = ProductImage.objects.filter(product=locked)
            if existing.count() >= MAX_IMAGES:
                raise HubError(_("A product has at most %(max)d images.") % {"max": MAX_IMAGES},
                               code="too_many_images", field="file")
            position = (existing.aggregate(last=Max("position"))["last"] or 0) + 1
            image = ProductImage(product=locked, content_type=content_type, width=width,
                                 height=height, byte_size=len(encoded), alt_text=alt_text,
                                 position=position, is_primary=not existing.exists(),
                                 uploaded_by=actor if actor.is_authenticated else None)
            image.file.save(f"{stem}.{extension}", ContentFile(encoded), save=False)
            written.append(image.file.name)
            image.thumbnail.save(f"{stem}-thumb.webp", ContentFile(thumb), save=False)
            written.append(image.thumbnail.name)
            image.save()
            _record(actor=actor, supplier=locked.supplier, action="hub.product.image_added",
                    obj=locked, after={"image_id": image.pk, "width": width, "height": height},
                    payload={"product_id": locked.pk, "sku": locked.sku,
                             "image_id": image.pk})
    except Exception:
        for name in written:
            storage.delete(name)
        raise
    return image


def image_delete(*, image, actor):
    """Remove an image; the next one becomes primary when the primary goes."""
    storage = ProductImage._meta.get_field("file").storage
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=image.product_id)
        names = [image.file.name, image.thumbnail.name]
        was_primary = image.is_primary
        ProductImage.objects.filter(pk=image.pk).delete()
        if was_primary:
            following = ProductImage.objects.filter(product=product).order_by(
                "position", "id").first()
            if following is not None:
                ProductImage.objects.filter(pk=following.pk).update(is_primary=True)
        _record(actor=actor, supplier=product.supplier, action="hub.product.image_removed",
                obj=product, before={"image_id": image.pk},
                payload={"product_id": product.pk, "sku": product.sku, "image_id": image.pk})
        transaction.on_commit(lambda: [storage.delete(name) for name in names if name])


def image_make_primary(*, image, actor):
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=image.product_id)
        ProductImage.objects.filter(product=product, is_primary=True).update(is_primary=False)
        ProductImage.objects.filter(pk=image.pk).update(is_primary=True)
        _record(actor=actor, supplier=product.supplier, action="hub.product.image_primary",
                obj=product, after={"image_id": image.pk},
                payload={"product_id": product.pk, "sku": product.sku, "image_id": image.pk})


def image_move(*, image, actor, direction):
    """Swap the image with its neighbour (`direction` -1: earlier, +1: later)."""
    with transaction.atomic():
        Product.objects.select_for_update().get(pk=image.product_id)
        images = list(ProductImage.objects.filter(product_id=image.product_id)
                      .order_by("position", "id"))
        index = next((i for i, row in enumerate(images) if row.pk == image.pk), None)
        other = None if index is None else index + (1 if direction > 0 else -1)
        if index is None or other < 0 or other >= len(images):
            return
        images[index], images[other] = images[other], images[index]
        for position, row in enumerate(images, start=1):
            if row.position != position:
                ProductImage.objects.filter(pk=row.pk).update(position=position)


def primary_images(product_ids):
    """{product id: primary image id} for a page of products; one query."""
    return dict(ProductImage.objects.filter(product_id__in=list(product_ids), is_primary=True)
                .values_list("product_id", "id"))

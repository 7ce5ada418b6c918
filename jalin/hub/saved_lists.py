"""Saved lists ("favourites", requisition lists): a buyer's named lists of one supplier's
products with default quantities, to put into the cart in one go.

- A list belongs to the buyer organization and to the person who made it (its owner). It is
  private to the owner unless `shared`, then every member of the buyer organization who may
  place orders sees it and may put it into their cart.
- The owner changes the list (rename, share, lines, delete); an organization admin
  (`org.manage`) may also change or delete a shared list. Anyone else who can see it gets
  `forbidden` (403); a list one cannot see is 404, like a missing one.
- Only entitled, active products of the list's supplier can be added. A list has at most
  `MAX_LINES` products (one order's limit), quantities 1 … `MAX_QUANTITY`.
- "Add all to cart" adds the lines that are still orderable (in one transaction) and names the
  SKUs it skipped.
- Saved lists are the buyer's own working notes, never shown to the supplier: changes are
  written to the buyer organization's audit log (`hub.saved_list.*`) but emit no hub event
  (hub events go to the supplier).
"""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.roles import ORG_MANAGE, has_perm
from jalin.tenancy.services import StaleVersion

from . import orders
from .models import CartLine, RelationshipStatus, SavedList, SavedListLine, TradingRelationship
from .services import HubError

MAX_LINES = orders.MAX_LINES
MAX_QUANTITY = orders.MAX_QUANTITY


# --- Reads ---------------------------------------------------------------------------------


def lists_for(*, membership, supplier_id=None):
    """The lists this person sees: their own and the organization's shared ones."""
    queryset = (SavedList.objects.filter(buyer=membership.organization)
                .filter(Q(owner=membership.user) | Q(shared=True))
                .select_related("supplier", "owner"))
    if supplier_id is not None:
        queryset = queryset.filter(supplier_id=supplier_id)
    return queryset


def list_or_404(*, membership, pk):
    return get_for_org_or_404(lists_for(membership=membership), membership.organization, pk=pk)


def can_edit(saved_list, membership):
    return saved_list.owner_id == membership.user_id or (
        saved_list.shared and has_perm(membership, ORG_MANAGE))


def relationship_of(saved_list):
    """The buyer's active relationship with the list's supplier, or None."""
    return TradingRelationship.objects.filter(
        buyer_id=saved_list.buyer_id, supplier_id=saved_list.supplier_id,
        status=RelationshipStatus.ACTIVE).select_related("supplier").first()


# --- Writes --------------------------------------------------------------------------------


def _name(name):
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise HubError(_("Enter a name of at most 120 characters."), code="invalid_name",
                       field="name")
    return name


def _quantity(quantity, field="quantity", allow_zero=False):
    low = 0 if allow_zero else 1
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not (
            low <= quantity <= MAX_QUANTITY):
        raise HubError(_("Enter a quantity between %(low)s and %(max)s.") % {
            "low": low, "max": MAX_QUANTITY}, code="invalid_quantity", field=field)


def _check_editable(saved_list, membership):
    if not can_edit(saved_list, membership):
        raise HubError(_("Only the owner of this list can change it."), code="forbidden")


def _save_unique(saved_list):
    try:
        with transaction.atomic():
            saved_list.save()
    except IntegrityError as exc:
        raise HubError(_("You already have a list with this name for this supplier."),
                       code="duplicate_name", field="name") from exc


def _audit(saved_list, actor, verb, **after):
    audit_record(actor=actor, organization=saved_list.buyer, action=f"hub.saved_list.{verb}",
                 obj=saved_list, after={"name": saved_list.name,
                                        "supplier_id": saved_list.supplier_id, **after})


def list_create(*, relationship, user, name, shared=False, quantities=None):
    """A new list with `quantities` ({product_id: quantity}, entitled products only)."""
    if not relationship.is_active:
        raise HubError(_("You cannot order from this supplier."), code="not_trading")
    name = _name(name)
    quantities = dict(quantities or {})
    if len(quantities) > MAX_LINES:
        raise HubError(_("A list has at most %(max)s products.") % {"max": MAX_LINES},
                       code="too_many_lines", field="lines")
    for index, quantity in enumerate(quantities.values()):
        _quantity(quantity, field=f"lines[{index}].quantity")
    products = orders._orderable(relationship, quantities)
    for index, product_id in enumerate(quantities):
        if product_id not in products:
            raise HubError(_("No such product."), code="not_found",
                           field=f"lines[{index}].product_id")
    with transaction.atomic():
        saved_list = SavedList(buyer_id=relationship.buyer_id,
                               supplier_id=relationship.supplier_id, owner=user, name=name,
                               shared=bool(shared))
        _save_unique(saved_list)
        SavedListLine.objects.bulk_create(
            SavedListLine(saved_list=saved_list, product=products[pid], quantity=qty)
            for pid, qty in quantities.items())
        _audit(saved_list, user, "created", shared=saved_list.shared, lines=len(quantities))
    return saved_list


def list_from_cart(*, relationship, user, name, shared=False):
    """"Save cart as list": the user's cart with this supplier becomes a new list."""
    quantities = dict(CartLine.objects.filter(
        cart__buyer_id=relationship.buyer_id, cart__supplier_id=relationship.supplier_id,
        cart__user=user).values_list("product_id", "quantity"))
    if not quantities:
        raise HubError(_("The cart is empty."), code="no_lines", field="lines")
    # Products that are no longer orderable stay behind rather than fail the whole save.
    orderable = orders._orderable(relationship, quantities)
    return list_create(relationship=relationship, user=user, name=name, shared=shared,
                       quantities={pid: qty for pid, qty in quantities.items()
                                   if pid in orderable})


def _lock(saved_list, version=None):
    locked = SavedList.objects.select_for_update().select_related("buyer").get(
        pk=saved_list.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    return locked


def _touch(locked):
    locked.version += 1
    locked.updated_at = timezone.now()


def list_update(*, saved_list, membership, actor, name=None, shared=None, version=None):
    _check_editable(saved_list, membership)
    with transaction.atomic():
        locked = _lock(saved_list, version)
        before = {"name": locked.name, "shared": locked.shared}
        if name is not None:
            locked.name = _name(name)
        if shared is not None:
            locked.shared = bool(shared)
        _touch(locked)
        _save_unique(locked)
        audit_record(actor=actor, organization=locked.buyer, action="hub.saved_list.updated",
                     obj=locked, before=before,
                     after={"name": locked.name, "shared": locked.shared})
    return locked


def list_delete(*, saved_list, membership, actor):
    _check_editable(saved_list, membership)
    with transaction.atomic():
        locked = _lock(saved_list)
        _audit(locked, actor, "deleted")
        locked.delete()


def list_set_line(*, saved_list, membership, actor, product_id, quantity, add=False,
                  version=None):
    """Set (or with `add`, increase) a product's default quantity; 0 removes the line."""
    _check_editable(saved_list, membership)
    _quantity(quantity, allow_zero=True)
    with transaction.atomic():
        locked = _lock(saved_list, version)
        line = SavedListLine.objects.filter(saved_list=locked, product_id=product_id).first()
        if line is None and quantity:
            relationship = relationship_of(locked)
            if relationship is None:
                raise HubError(_("You cannot order from this supplier."), code="not_trading")
            product = orders._orderable(relationship, [product_id]).get(product_id)
            if product is None:
                raise HubError(_("No such product."), code="not_found", field="product_id")
            if locked.lines.count() >= MAX_LINES:
                raise HubError(_("A list has at most %(max)s products.") % {"max": MAX_LINES},
                               code="too_many_lines", field="product_id")
            line = SavedListLine.objects.create(saved_list=locked, product=product,
                                                quantity=quantity)
        elif line is not None:
            total = quantity + (line.quantity if add else 0)
            if total:
                _quantity(total)
            if total == 0:
                line.delete()
            else:
                line.quantity = total
                line.save(update_fields=["quantity"])
        _touch(locked)
        locked.save(update_fields=["version", "updated_at"])
        _audit(locked, actor, "line_set", product_id=product_id, quantity=quantity,
               add=bool(add))
    return locked


def list_add_to_cart(*, saved_list, user):
    """Put every still-orderable line into the user's cart (one transaction). Returns
    (lines added, SKUs skipped because they are no longer orderable)."""
    relationship = relationship_of(saved_list)
    if relationship is None:
        raise HubError(_("You cannot order from this supplier."), code="not_trading")
    lines = list(saved_list.lines.select_related("product"))
    if not lines:
        raise HubError(_("The list is empty."), code="no_lines", field="lines")
    orderable = orders._orderable(relationship, [line.product_id for line in lines])
    quantities = {line.product_id: line.quantity for line in lines
                  if line.product_id in orderable}
    skipped = [line.product.sku for line in lines if line.product_id not in orderable]
    if quantities:
        orders.cart_add_lines(relationship=relationship, user=user, quantities=quantities)
    return len(quantities), skipped

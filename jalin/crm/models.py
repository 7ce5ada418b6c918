"""CRM records owned by the supplier organization whose staff use them.

Every row carries `organization`; every index starts with it, because every query is scoped to
one organization (and one organization may hold a million contacts). `version` is bumped on
each write for optimistic concurrency. Custom field values live in `custom` (JSON), validated
by `jalin.crm.custom_fields` against the organization's `CustomFieldDefinition`s.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from jalin.core.storage import private_storage


class Tag(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="crm_tag_unique_name")
        ]

    def __str__(self):
        return self.name


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    FORMER = "former", _("Former customer")


class AccountSize(models.TextChoices):
    MICRO = "micro", _("1–10 people")
    SMALL = "small", _("11–50 people")
    MEDIUM = "medium", _("51–250 people")
    LARGE = "large", _("251–1000 people")
    ENTERPRISE = "enterprise", _("More than 1000 people")


class AccountTier(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    KEY = "key", pgettext_lazy("account tier", "Key")
    STANDARD = "standard", _("Standard")
    LONG_TAIL = "long_tail", _("Long tail")


class Account(models.Model):
    """A customer company."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=20, choices=AccountSize.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=AccountTier.choices,
                            default=AccountTier.STANDARD)
    status = models.CharField(_("status"), max_length=20, choices=AccountStatus.choices,
                              default=AccountStatus.PROSPECT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent account"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="children",
    )
    tax_id = models.CharField(_("tax id (NPWP)"), max_length=40, blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True,
                             help_text=_("International format, e.g. +62 21 555 0100"))
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="+")
    hub_organization = models.ForeignKey(
        "tenancy.Organization", verbose_name=_("buyer on the hub"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    custom = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set when this account was merged into another; it is archived at the same time.
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "name", "id"], name="crm_account_org_name"),
            models.Index(fields=["organization", "updated_at", "id"],
                         name="crm_account_org_updated"),
            models.Index(fields=["organization", "owner"], name="crm_account_org_owner"),
            models.Index(fields=["organization", "status", "name"],
                         name="crm_account_org_status"),
            models.Index(fields=["organization", "tier", "name"], name="crm_account_org_tier"),
            models.Index(fields=["organization", "phone"], name="crm_account_org_phone"),
        ]

    def __str__(self):
        return self.name


class RelationshipRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    BILLING = "billing", _("Billing")
    TECHNICAL = "technical", _("Technical")


class Contact(models.Model):
    """A person at a customer. `email` is stored lower-case; phones in E.164."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    extra_emails = models.JSONField(_("other emails"), default=list, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True,
                             help_text=_("International format, e.g. +62 812 3456 7890"))
    extra_phones = models.JSONField(_("other phones"), default=list, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="contacts",
    )
    relationship_role = models.CharField(
        _("relationship role"), max_length=20, choices=RelationshipRole.choices, blank=True
    )
    email_opt_in = models.BooleanField(_("agrees to email"), default=False)
    email_opt_in_at = models.DateTimeField(null=True, blank=True)
    phone_opt_in = models.BooleanField(_("agrees to phone calls"), default=False)
    phone_opt_in_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    custom = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set when this contact was merged into another; it is archived at the same time.
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name", "id"],
                         name="crm_contact_org_name"),
            models.Index(fields=["organization", "updated_at", "id"],
                         name="crm_contact_org_updated"),
            models.Index(fields=["organization", "owner"], name="crm_contact_org_owner"),
            models.Index(fields=["organization", "email"], name="crm_contact_org_email"),
            models.Index(fields=["organization", "phone"], name="crm_contact_org_phone"),
            models.Index(fields=["organization", "account"], name="crm_contact_org_account"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class CustomFieldTarget(models.TextChoices):
    ACCOUNT = "account", _("Account")
    CONTACT = "contact", _("Contact")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Several choices")
    BOOLEAN = "boolean", _("Yes / no")
    URL = "url", _("Web address")


class CustomFieldDefinition(models.Model):
    """A field an org admin added to accounts or contacts; values live in `<record>.custom`."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    target = models.CharField(_("record"), max_length=20, choices=CustomFieldTarget.choices)
    key = models.SlugField(_("key"), max_length=50,
                           help_text=_("Lower-case letters, digits and underscores; "
                                       "used in the API and CSV files."))
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        ordering = ["target", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "target", "key"],
                                    name="crm_custom_field_unique_key")
        ]

    def __str__(self):
        return self.label


class HubBuyerLink(models.Model):
    """A buyer this supplier trades with on the hub, as the CRM learned it from the hub's
    `hub.relationship.*` events. The CRM never reads the hub's tables: this copy is what lets
    an account be linked to a buyer, and it catches up whenever the consumer runs again."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    buyer = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16)
    updated_from_event_position = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "buyer"],
                                    name="crm_hub_buyer_link_unique")
        ]

    def __str__(self):
        return f"{self.organization_id} -> {self.buyer_id} ({self.status})"


# --- Activities -----------------------------------------------------------------------------


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    TASK = "task", _("Task")
    NOTE = "note", _("Note")


class ActivityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    VOICEMAIL = "voicemail", _("Left voicemail")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class Activity(models.Model):
    """A call, meeting, task or note about an account and/or contact.

    `due_at` is the moment that puts an activity on "My day": a task's due date, a meeting's
    start, a call's scheduled time (or when it was logged). Meetings also have `ends_at`.
    `remind_at` is when the assignee is notified; `reminded_at` records that it happened, so a
    reminder is sent once even when the reminder job runs twice."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ActivityStatus.choices,
                              default=ActivityStatus.OPEN)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="activities",
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="activities",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("when"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    # Calls
    direction = models.CharField(_("direction"), max_length=10, choices=CallDirection.choices,
                                 blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True,
                                                   blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices,
                               blank=True)
    # Meetings
    location = models.CharField(_("location"), max_length=300, blank=True)
    video_url = models.URLField(_("video link"), max_length=500, blank=True)
    attendee_contacts = models.ManyToManyField(
        Contact, verbose_name=_("attendees (contacts)"), blank=True, related_name="+"
    )
    attendee_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("attendees (colleagues)"), blank=True,
        related_name="+",
    )
    # The iCalendar UID stays the same for the life of the meeting; SEQUENCE is `version`.
    ical_uid = models.CharField(max_length=100, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "organization"

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["organization", "assignee", "status", "due_at", "id"],
                         name="crm_activity_my_day"),
            models.Index(fields=["organization", "due_at", "id"], name="crm_activity_org_due"),
            models.Index(fields=["organization", "account", "created_at", "id"],
                         name="crm_activity_org_account"),
            models.Index(fields=["organization", "contact", "created_at", "id"],
                         name="crm_activity_org_contact"),
            models.Index(fields=["organization", "created_at", "id"],
                         name="crm_activity_org_created"),
            models.Index(fields=["remind_at"], name="crm_activity_due_reminders",
                         condition=models.Q(reminded_at__isnull=True, remind_at__isnull=False)),
        ]

    def __str__(self):
        return self.subject


# --- Documents ------------------------------------------------------------------------------


class AttachedToRecord(models.Model):
    """Something filed under exactly one account, contact or activity (documents, thread
    posts): the same indexes, and a database check that refuses a row naming none or
    several."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # Subclasses declare `account`, `contact` and `activity` (nullable, CASCADE) with their
    # own related names; the indexes and the one-record check below name them.

    tenant_owner = "organization"

    class Meta:
        abstract = True
        indexes = [
            models.Index(fields=["organization", "account", "created_at"],
                         name="%(app_label)s_%(class)s_org_account"),
            models.Index(fields=["organization", "contact", "created_at"],
                         name="%(app_label)s_%(class)s_org_contact"),
            models.Index(fields=["organization", "activity", "created_at"],
                         name="%(app_label)s_%(class)s_org_activity"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(account__isnull=False, contact__isnull=True, activity__isnull=True)
                    | models.Q(account__isnull=True, contact__isnull=False,
                               activity__isnull=True)
                    | models.Q(account__isnull=True, contact__isnull=True,
                               activity__isnull=False)
                ),
                name="%(app_label)s_%(class)s_one_record",
            )
        ]


class Document(AttachedToRecord):
    """A file in the filing cabinet, attached to one account, contact or activity. The bytes
    live in `DocumentVersion`s; `current` is the newest. Files are stored under
    `JALIN_PRIVATE_MEDIA_ROOT` (outside the web root) and only ever served as downloads."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="documents")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="documents")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="documents")
    current = models.ForeignKey("DocumentVersion", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.title


class DocumentVersion(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(max_length=300, storage=private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "document__organization"

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"],
                                    name="crm_document_version_unique")
        ]

    def __str__(self):
        return f"{self.original_name} v{self.number}"


# --- Threads --------------------------------------------------------------------------------


class Comment(AttachedToRecord):
    """A post in the discussion thread of an account, contact or activity. `parent` makes it a
    reply. CRM threads are internal: staff only, never shown to the customer on the portal.
    Edits keep the previous text as `CommentRevision`s; deleting blanks the body but keeps the
    post so replies keep their place."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="comments")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="comments")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="comments")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    body = models.TextField(_("message"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.body[:60]


class CommentRevision(models.Model):
    """The text a comment had before an edit."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "comment__organization"

    class Meta:
        ordering = ["-edited_at", "-id"]

    def __str__(self):
        return f"revision of {self.comment_id}"


# --- Timeline -------------------------------------------------------------------------------


class TimelineEntry(models.Model):
    """One line on an account's or contact's timeline, written only by the timeline consumer
    from domain events. `event_id` makes delivery idempotent: an event lands once."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="timeline")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="timeline")
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=100)
    category = models.CharField(max_length=20)  # record, activity, document, thread, hub, ...
    summary = models.CharField(max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()

    tenant_owner = "organization"

    class Meta:
        indexes = [
            models.Index(fields=["organization", "account", "-occurred_at", "-id"],
                         name="crm_timeline_account"),
            models.Index(fields=["organization", "contact", "-occurred_at", "-id"],
                         name="crm_timeline_contact"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "event_id"],
                                    name="crm_timeline_once_per_event")
        ]

    def __str__(self):
        return self.summary


# --- Search, saved views, imports -----------------------------------------------------------


class SearchDocument(models.Model):
    """The searchable text of one record (account, contact, activity or document), kept in
    step by the services that write those records. SQLite searches it through an FTS5 table;
    PostgreSQL through full-text and trigram indexes on it."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "object_id"],
                                    name="crm_search_one_per_record")
        ]

    def __str__(self):
        return self.title


class SavedView(models.Model):
    """A named set of list filters. Private to its owner unless `shared`."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    target = models.CharField(_("list"), max_length=20)  # "account", "contact", "activity"
    name = models.CharField(_("name"), max_length=100)
    query = models.JSONField(default=dict)
    shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "owner", "target", "name"],
                                    name="crm_saved_view_unique_name")
        ]

    def __str__(self):
        return self.name


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    PREVIEWED = "previewed", _("Checked")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A CSV or vCard file being imported into accounts or contacts. The file is kept in
    private storage until the job ends. A job that finds errors imports nothing: rows are
    written in one transaction after every row has been checked."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    target = models.CharField(max_length=20)  # "account" or "contact"
    format = models.CharField(max_length=10, default="csv")  # "csv" or "vcard"
    file = models.FileField(max_length=300, storage=private_storage)
    original_name = models.CharField(max_length=255)
    mapping = models.JSONField(default=dict, blank=True)  # CSV column -> field name
    status = models.CharField(max_length=12, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row": n, "field": f, "message": m}]
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    tenant_owner = "organization"

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="crm_import_org")]

    def __str__(self):
        return self.original_name

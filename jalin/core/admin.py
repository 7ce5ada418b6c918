"""Operator views of the audit log and event delivery. Everything here is read-only except
the dead-letter replay action, which goes through the same service as `jalin events replay`."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .events import dead_letter_replay
from .events_models import ConsumerState, DeadLetter, Event
from .models import AuditLog


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organization", "actor_label", "action", "object_type",
                    "object_repr")
    list_filter = ("action",)
    search_fields = ("action", "object_type", "object_id", "actor_label", "request_id")
    list_select_related = ("organization",)
    show_full_result_count = False  # no COUNT(*) over a big table


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "position", "type", "organization", "aggregate_type", "aggregate_id",
                    "occurred_at")
    list_filter = ("type",)
    search_fields = ("type", "aggregate_id", "request_id")
    list_select_related = ("organization",)
    show_full_result_count = False


@admin.register(ConsumerState)
class ConsumerStateAdmin(ReadOnlyAdmin):
    list_display = ("name", "position", "attempts", "next_attempt_at", "last_error", "updated_at")


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("id", "consumer", "event", "attempts", "error", "created_at", "replayed_at")
    list_filter = ("consumer", ("replayed_at", admin.EmptyFieldListFilter))
    list_select_related = ("event",)
    actions = ["replay"]

    def has_change_permission(self, request, obj=None):
        # Actions need change permission; the fields themselves stay read-only.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description=_("Replay the selected dead letters now"))
    def replay(self, request, queryset):
        done = failed = 0
        for letter in queryset.filter(replayed_at__isnull=True):
            try:
                succeeded = dead_letter_replay(dead_letter=letter, actor=request.user)
            except ValueError as exc:
                self.message_user(request, f"#{letter.pk}: {exc}", messages.ERROR)
                continue
            done += succeeded
            failed += not succeeded
        if done:
            self.message_user(request, _("%d replayed.") % done, messages.SUCCESS)
        if failed:
            self.message_user(request, _("%d failed again.") % failed, messages.WARNING)

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, LoginFailure, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("preferred_language",)}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("username", "ip_address", "created_at")
    search_fields = ("username", "ip_address")
    list_filter = ("created_at",)
    # Deleting rows is how an operator lifts a lockout early; nothing else may change them.
    readonly_fields = ("username", "ip_address", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "key_id", "membership", "created_at", "last_used_at", "expires_at",
                    "revoked_at")
    search_fields = ("name", "key_id", "membership__user__username")
    # The hash is not shown: it is useless to a person and needless to expose.
    fields = ("membership", "name", "key_id", "created_at", "expires_at", "last_used_at",
              "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

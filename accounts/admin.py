"""The admin of users and their refresh tokens (tokens are stored hashed and never edited)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import RefreshToken, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    """Sessions can be looked up and revoked (set ``revoked_at``); nothing else changes here."""

    list_display = ("id", "user", "family", "created_at", "expires_at", "rotated_at", "revoked_at")
    list_filter = ("revoked_at", "rotated_at")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "family", "token_hash", "created_at", "expires_at", "rotated_at")
    list_select_related = ("user",)
    show_full_result_count = False

    def has_add_permission(self, request: object) -> bool:
        return False  # tokens are issued by logging in

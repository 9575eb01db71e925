from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import RefreshToken, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    pass


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "family", "created_at", "expires_at", "rotated_at", "revoked_at")
    list_filter = ("revoked_at", "rotated_at")
    search_fields = ("user__username", "family")
    readonly_fields = ("token_hash",)

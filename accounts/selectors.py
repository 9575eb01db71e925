"""Account reads."""

from accounts.models import User


def user_is_active(*, user_id: int) -> bool:
    """Whether the user exists and is active: a token of anyone else is refused everywhere."""
    return User.objects.filter(pk=user_id, is_active=True).exists()

from datetime import datetime

import strawberry
import strawberry_django
from strawberry import auto

from accounts.models import User


@strawberry_django.type(User, name="User")
class UserType:
    id: auto
    username: auto
    email: auto
    date_joined: datetime


@strawberry.type(name="AuthPayload")
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: UserType

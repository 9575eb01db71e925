"""Test settings: real PostgreSQL and Redis, chosen by the test launcher (tests/with_servers.py)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-0123456789abcdef"
JWT_SIGNING_KEY = SECRET_KEY
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)
GRAPHIQL = False
CELERY_TASK_ALWAYS_EAGER = True
# Apart from a development server (or a deployment) on the same Redis.
REDIS_KEY_PREFIX = "gridtwin-test:"

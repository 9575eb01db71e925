"""Development settings: `make run` on a laptop."""

from .base import *  # noqa: F403
from .base import env, redis_key_prefix

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-0123456789")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
# Both stay off when DEBUG is off, whatever is asked for here.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)
GRAPHIQL = env.bool("GRAPHIQL", default=DEBUG)
REFRESH_COOKIE_SECURE = env.bool("REFRESH_COOKIE_SECURE", default=not DEBUG)
# `make run` serves static files from the apps' directories, with or without DEBUG.
SERVESTATIC_USE_FINDERS = env.bool("SERVESTATIC_USE_FINDERS", default=True)
# Apart from a deployment (or a test run) on the same Redis.
REDIS_KEY_PREFIX = redis_key_prefix(env.str("REDIS_KEY_PREFIX", default="gridtwin-dev:"))

"""What Django's error pages (DEBUG on) and error reports may show of the settings.

Django hides settings whose names look secret (KEY, PASS, TOKEN, …) but shows REDIS_URL,
MQTT_URL, CELERY_BROKER_URL and the cache's LOCATION in full, passwords included, on every
debug page: a bad Host header or an oversized body is enough to see one. Every setting named
like a URL or a location is hidden too, and so is any other value that carries credentials in a
URL (``scheme://user:password@host``). ``GRID_PROVIDERS`` is hidden whole: a provider's spec
may hold an API key or a URL with one.
"""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

_CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]*@", re.IGNORECASE)


class SettingsCleansingFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN|LOCATION|BROKER|RESULT_BACKEND"
        "|PROVIDERS",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and _CREDENTIALS_IN_URL.search(cleansed):
            return self.cleansed_substitute
        return cleansed

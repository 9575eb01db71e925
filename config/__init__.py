"""Project configuration: settings, URLs, ASGI/WSGI entry points and local launchers.

Importing this package has no side effects; the Celery app is loaded by
``devices.apps.DevicesConfig.ready`` once Django has chosen its settings.
"""

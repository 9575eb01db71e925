"""The Celery app: Redis broker, a ``sim`` queue for the farm, a ``plan`` queue for the planner,
a ``default`` queue for the rest."""

import os

from celery import Celery, signals
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("gridtwin")
app.config_from_object("django.conf:settings", namespace="CELERY")

# One hour is Redis' default visibility timeout: a task running longer would be delivered
# twice. Keep it well above the longest task, and the same in all three places.
_VISIBILITY_TIMEOUT_S = 6 * 3600
_KEY_PREFIX = f"{settings.REDIS_KEY_PREFIX}celery:"
app.conf.update(
    task_queues=(Queue("default"), Queue("sim"), Queue("plan")),
    task_default_queue="default",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_time_limit=600,
    task_soft_time_limit=540,
    broker_connection_retry_on_startup=True,
    # Queues, results and chord counters under the deployment's Redis prefix, like every key.
    broker_transport_options={
        "visibility_timeout": _VISIBILITY_TIMEOUT_S,
        "global_keyprefix": _KEY_PREFIX,
    },
    result_backend_transport_options={
        "visibility_timeout": _VISIBILITY_TIMEOUT_S,
        "global_keyprefix": _KEY_PREFIX,
    },
    visibility_timeout=_VISIBILITY_TIMEOUT_S,
    result_expires=3600,
    # One result backend per process, not per thread: the web process sends tasks from a
    # fresh thread per request, and each new backend would rescan entry points and reconnect.
    result_backend_thread_safe=True,
    # django-celery-beat's database scheduler, kept running when the wall clock steps back.
    beat_scheduler="config.beat:ClockSafeScheduler",
    timezone="UTC",
    enable_utc=True,
)
app.autodiscover_tasks()
app.autodiscover_tasks(["simulators"])


@signals.setup_logging.connect
def _logging_from_settings(**_: object) -> None:
    """Workers and beat log as the web process does (``LOGGING``: plain or JSON lines), through
    handlers that redact secrets."""
    from config.logs import configure

    configure(settings.LOGGING)


@signals.worker_process_shutdown.connect
def _metrics_process_exiting(**_: object) -> None:
    """A pool process ends: its live gauges stop counting (multiprocess metrics)."""
    from monitoring import metrics

    metrics.process_exiting()

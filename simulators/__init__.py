"""The simulation: pure physics (``simulators.physics``), the farm that steps every simulated
device each tick (``simulators.farm``) and the Celery tasks that drive it (``simulators.tasks``).
See docs/architecture.md."""

"""Times every GraphQL query and mutation, by operation name, for the metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import OperationType
from strawberry.extensions import SchemaExtension

from monitoring import metrics


class OperationMetrics(SchemaExtension):
    """Observes parse-to-result time of queries and mutations (subscriptions live on: their
    deliveries are counted instead)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        try:
            kind = context.operation_type
        except Exception:  # no document (it did not parse) or no such operation
            kind = None
        if kind is OperationType.SUBSCRIPTION:
            return
        metrics.graphql_observed(
            operation=context.operation_name,
            kind=kind.value if kind is not None else "unknown",
            seconds=seconds,
        )

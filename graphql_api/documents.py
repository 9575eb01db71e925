"""GraphQL documents: bounded before they are parsed, checked before they are validated, and
parsed and validated once while they stay in a cache bounded by bytes.

What a document can cost, and what stops it here:

- **Size.** A document longer than ``GRAPHQL_MAX_DOCUMENT_BYTES`` is refused before parsing;
  ``GRAPHQL_MAX_TOKENS`` stops the parser early (comments are not tokens, hence the size limit).
- **Validation time.** graphql-core's overlapping-fields rule compares every pair of fields that
  answer at the same place: 450 repeated fields cost a good part of a second of CPU on the event
  loop, and varying one alias makes every request a new document. :func:`document_check` walks
  the parsed document once (fragments expanded where they are spread) and refuses it before
  validation when one place in the response is selected more than ``GRAPHQL_MAX_FIELD_REPEATS``
  times, when it selects more than ``GRAPHQL_MAX_FIELDS`` fields in all (wide), or nests fields
  deeper than ``GRAPHQL_MAX_DEPTH`` (deep). The walk stops at the first limit it passes, so a
  refusal costs no more than the limits allow.
- **Memory.** A parsed document keeps its source text and every token, comments included, as
  Python objects: a 30 KB document of comment lines holds ~3 MB. The cache is therefore bounded
  by an estimate of the bytes each entry keeps (:func:`document_cost`, checked against measured
  allocations in the tests), not only by its number of entries.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

#: Estimated bytes a parsed document keeps per token besides its text (its Token, AST node and
#: Location objects); measured at up to ~570 for a document of one-letter fields and ~720 for
#: the introspection query (deep selections: more AST per token).
TOKEN_BYTES = 760
#: Estimated bytes of one validation error beyond its message (locations, nodes, path).
ERROR_BYTES = 1500
#: Documents kept at most, however small.
CACHE_MAX_ENTRIES = 1024
#: Strawberry's own rules, which its validation adds to the schema's.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


class DocumentRefused(GraphQLError):
    """A document over a limit, refused before it is parsed or validated."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int
    max_tokens: int
    max_fields: int
    max_repeats: int
    max_depth: int


def document_size_check(query: str, limits: DocumentLimits) -> None:
    """Refuse a document longer than ``limits.max_bytes`` (UTF-8), before parsing it."""
    too_long = len(query) > limits.max_bytes or (
        len(query) > limits.max_bytes // 4  # shorter texts fit whatever their characters
        and len(query.encode("utf-8", "surrogatepass")) > limits.max_bytes
    )
    if too_long:
        raise DocumentRefused(
            f"The document is longer than {limits.max_bytes} bytes; send a shorter one.",
            code="DOCUMENT_TOO_LARGE",
        )


def _too_complex(message: str) -> DocumentRefused:
    return DocumentRefused(message, code="QUERY_TOO_COMPLEX")


def _place(path: tuple[str, ...]) -> str:
    shown = ".".join(path[1:])
    return shown if len(shown) <= 120 else "…" + shown[-119:]


@dataclass(frozen=True)
class _Frame:
    selections: SelectionSetNode
    place: tuple[str, ...]
    depth: int
    expanding: frozenset[str]  # the fragments being expanded on the way here
    in_operation: bool  # False for a fragment definition walked on its own
    introspection: bool


def document_check(document: DocumentNode, limits: DocumentLimits) -> None:
    """Refuse a document whose selections would make validation or execution expensive.

    Each operation and each fragment definition is walked (the overlapping-fields rule checks
    both), with named fragments expanded where they are spread and inline fragments merged into
    their place. A place is the path of response names (aliases or field names) from the
    definition's root: the rule compares pairwise the fields selected at one place, so no place
    may be selected more than ``max_repeats`` times. Fields and depth count as execution does:
    from an operation's root, fragments expanded, introspection fields (``__schema``, …) adding
    no depth. A fragment spread inside itself is skipped (validation reports the cycle).
    """
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    stack: list[_Frame] = []
    for index, definition in enumerate(document.definitions):
        root = (f"#{index}",)
        if isinstance(definition, OperationDefinitionNode):
            stack.append(_Frame(definition.selection_set, root, 0, frozenset(), True, False))
        elif isinstance(definition, FragmentDefinitionNode):
            expanding = frozenset({definition.name.value})
            stack.append(_Frame(definition.selection_set, root, 0, expanding, False, False))
    fields = 0
    visits = 0
    max_visits = 4 * limits.max_fields  # spreads and inline fragments cost a little too
    selected: dict[tuple[str, ...], int] = {}
    while stack:
        frame = stack.pop()
        for selection in frame.selections.selections:
            visits += 1
            if visits > max_visits:
                raise _too_complex(
                    f"The document expands to more than {max_visits} selections; "
                    f"at most {limits.max_fields} fields are accepted."
                )
            if isinstance(selection, FieldNode):
                fields += frame.in_operation
                if fields > limits.max_fields:
                    raise _too_complex(
                        f"The document selects more than {limits.max_fields} fields "
                        "(fragments counted where they are spread)."
                    )
                name = selection.alias.value if selection.alias else selection.name.value
                here = (*frame.place, name)
                count = selected[here] = selected.get(here, 0) + 1
                if count > limits.max_repeats:
                    raise _too_complex(
                        f"'{name}' is selected more than {limits.max_repeats} times at one "
                        f"place ({_place(here)}); select it once."
                    )
                if selection.selection_set is None:
                    continue
                introspection = frame.introspection or selection.name.value.startswith("__")
                depth = frame.depth + (frame.in_operation and not introspection)
                if depth > limits.max_depth:
                    raise _too_complex(
                        f"The selection at {_place(here)} is nested more than "
                        f"{limits.max_depth} levels deep."
                    )
                stack.append(
                    replace(
                        frame,
                        selections=selection.selection_set,
                        place=here,
                        depth=depth,
                        introspection=introspection,
                    )
                )
            elif isinstance(selection, InlineFragmentNode):
                stack.append(replace(frame, selections=selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in frame.expanding:
                    continue  # unknown or cyclic: validation says so
                stack.append(
                    replace(
                        frame, selections=fragment.selection_set, expanding=frame.expanding | {name}
                    )
                )


def document_cost(query: str, document: DocumentNode, errors: Sequence[GraphQLError] | None) -> int:
    """Estimated bytes a cached document keeps: its text, its tokens and AST, its errors.

    Every token is kept (the AST's locations link them), comments included, each with its own
    copy of its text.
    """
    cost = sys.getsizeof(query)
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        cost += TOKEN_BYTES + (sys.getsizeof(token.value) if token.value is not None else 0)
        token = token.next
    for error in errors or ():
        cost += ERROR_BYTES + sys.getsizeof(error.message)
    return cost


@dataclass(frozen=True)
class CachedDocument:
    document: DocumentNode
    #: The validation errors, or None while the document has not been validated.
    errors: tuple[GraphQLError, ...] | None
    cost: int


class DocumentCache:
    """Least recently used documents, within ``max_bytes`` (estimated) and ``max_entries``."""

    def __init__(self, *, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> CachedDocument | None:
        with self._lock:
            entry = self._entries.get(query)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(query)
            return entry

    def put(self, query: str, entry: CachedDocument) -> None:
        """Keep ``entry`` (replacing one for the same text), evicting the least recent first."""
        with self._lock:
            previous = self._entries.pop(query, None)
            if previous is not None:
                self.size_bytes -= previous.cost
            if entry.cost > self.max_bytes:
                return  # would evict everything else
            self._entries[query] = entry
            self.size_bytes += entry.cost
            while self.size_bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self.size_bytes -= evicted.cost

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size_bytes = 0


class Documents:
    """The documents of one schema: checked, parsed and validated once, cached by cost."""

    def __init__(
        self,
        *,
        limits: DocumentLimits,
        cache: DocumentCache,
        hide_suggestions: bool,
    ) -> None:
        self.limits = limits
        self.cache = cache
        self.hide_suggestions = hide_suggestions

    def prepare(self, query: str) -> CachedDocument:
        """The checked, parsed document of ``query``; raises a ``GraphQLError`` if refused.

        ``DocumentRefused`` for a document over a limit, ``GraphQLSyntaxError`` for one that
        does not parse (or has more than ``max_tokens`` tokens).
        """
        entry = self.cache.get(query)
        if entry is not None:
            return entry
        document_size_check(query, self.limits)
        document = parse(query, max_tokens=self.limits.max_tokens)
        document_check(document, self.limits)
        entry = CachedDocument(
            document=document, errors=None, cost=document_cost(query, document, None)
        )
        self.cache.put(query, entry)
        return entry

    def validate(
        self,
        query: str,
        entry: CachedDocument,
        schema: GraphQLSchema,
        rules: Sequence[type[ASTValidationRule]],
    ) -> tuple[GraphQLError, ...]:
        """The validation errors of a prepared document, computed once while it is cached."""
        if entry.errors is not None:
            return entry.errors
        errors = tuple(
            validate(
                schema,
                entry.document,
                (*rules, *STRAWBERRY_RULES),
                hide_suggestions=self.hide_suggestions,
            )
        )
        cost = document_cost(query, entry.document, errors)
        self.cache.put(query, CachedDocument(document=entry.document, errors=errors, cost=cost))
        return errors

    def extension(self) -> SchemaExtension:
        """A fresh :class:`DocumentGuard` for one operation."""
        return DocumentGuard(self)


class DocumentGuard(SchemaExtension):
    """Parsing and validation of one operation through its schema's :class:`Documents`.

    A refused document raises from ``on_parse``: strawberry answers the request with that one
    error. (Over WebSocket the handler prepares the document first and answers refusals itself;
    see ``graphql_api/websocket.py``.)
    """

    def __init__(self, documents: Documents) -> None:
        self.documents = documents
        self.entry: CachedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            self.entry = self.documents.prepare(context.query)
            context.graphql_document = self.entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.entry is not None and context.query and context.pre_execution_errors is None:
            errors = self.documents.validate(
                context.query, self.entry, context.schema._schema, context.validation_rules
            )
            context.pre_execution_errors = list(errors)
        yield


def documents_from_settings(settings: Any, *, hide_suggestions: bool) -> Documents:
    """Documents with the limits and cache budget of ``settings``."""
    return Documents(
        limits=DocumentLimits(
            max_bytes=settings.GRAPHQL_MAX_DOCUMENT_BYTES,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_fields=settings.GRAPHQL_MAX_FIELDS,
            max_repeats=settings.GRAPHQL_MAX_FIELD_REPEATS,
            max_depth=settings.GRAPHQL_MAX_DEPTH,
        ),
        cache=DocumentCache(max_bytes=settings.GRAPHQL_CACHE_BYTES, max_entries=CACHE_MAX_ENTRIES),
        hide_suggestions=hide_suggestions,
    )

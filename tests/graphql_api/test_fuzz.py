"""Generated operations against the real web process: every root field, as a logged-in owner and
with no token.

Operations come from the committed schema (``snapshots/schema.graphql``, which
``test_schema_snapshot`` keeps equal to the served one) through hypothesis-graphql, and go over
HTTP as ``POST /graphql/`` JSON, as any client sends them. Argument values lean towards what the
API accepts (real ids of both owners, time zones, command names, physical numbers) so that many
operations get past validation into the resolvers, with plain random values beside them.

Every answer must be a JSON GraphQL answer with a status below 500, no error masked as
"Unexpected error." (a fault of ours), and every error a message. No answer shows the second
owner's ids or names, a caller without a token gets no data from a field that needs one, and
after the run the second owner's rows are as they were. Half the operations send their arguments
as variables (as clients do), half inline.
Runs are reproducible: Hypothesis is derandomized and keeps no example database.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from devices.models import Alert, Device, DeviceCommand, Home
from tests.fuzzing import (
    OtherOwner,
    leaks,
    live_state_clear,
    missing_uuid,
    other_owner_rows,
    other_owner_seed,
)
from tests.web_process import procfile_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SDL = (Path(__file__).parent / "snapshots" / "schema.graphql").read_text()
SCHEMA = graphql.build_schema(SDL)
QUERY_FIELDS = sorted(SCHEMA.query_type.fields) if SCHEMA.query_type else []
MUTATION_FIELDS = sorted(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else []
EXAMPLES_PER_FIELD = 30
MASKED = "Unexpected error."
DEMO = "demo"

LOGIN = """mutation($u: String!, $p: String!) { loginUser(username: $u, password: $p) {
  accessToken } }"""

#: Words the API gives meaning to, so generated operations reach past argument checks.
WORDS = [
    "Europe/Berlin", "America/Los_Angeles", "UTC", "Mars/Olympus", "demo", "gridtwin-demo",
    "ping", "reboot", "reset_energy", "set_interval", "set_ev_mode", "set_setpoint",
    "set_battery_reserve", "set_generator_running", "charging", "idle", "", " ", "\x00",
    "2026-11-23T13:00:00Z",
]  # fmt: skip
ARG_NAMES = ["seconds", "mode", "setpoint_c", "min_soc", "running", "extra"]

#: Root fields anyone may call; every other needs a token.
PUBLIC_FIELDS = {"register", "loginUser", "refreshToken", "logout"}
#: root field -> (operations sent, answers with its data and no error), per run
tally: dict[str, list[int]] = {}


def json_value(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (for the ``JSON`` scalar)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([json_value(item) for item in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=json_value(v))
            for k, v in value.items()
        ]
    )


def scalars(id_pool: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    text = st.text(max_size=40)
    numbers = st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=1),
        st.floats(min_value=-10, max_value=100),
        st.floats(min_value=0, max_value=20_000),
    )
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), numbers, text, st.sampled_from(WORDS)
    )
    json_values = st.one_of(
        st.dictionaries(st.sampled_from(ARG_NAMES), leaves, max_size=3),
        st.recursive(
            leaves,
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(
                st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True), inner, max_size=3
            ),
            max_leaves=6,
        ),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    recent = st.datetimes(min_value=now - timedelta(days=3), max_value=now + timedelta(hours=1))
    any_time = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
    aware = st.builds(
        lambda moment, tz: moment.replace(tzinfo=tz).isoformat(), recent | any_time, offsets
    )
    naive = any_time.map(datetime.isoformat)
    return {
        "ID": st.one_of(st.sampled_from(id_pool), st.integers(-(2**63), 2**63).map(str), text).map(
            nodes.String
        ),
        "String": st.one_of(st.sampled_from(WORDS), text, st.sampled_from(id_pool)).map(
            nodes.String
        ),
        "Float": numbers.map(nodes.Float),
        "DateTime": st.one_of(aware, aware, aware, naive, text).map(nodes.String),
        "Time": st.one_of(st.times().map(lambda t: t.isoformat()), text).map(nodes.String),
        "JSON": json_values.map(json_value),
    }


@pytest.fixture(autouse=True)
def _no_state_left_behind() -> Iterator[None]:
    yield
    live_state_clear()


@pytest.fixture(scope="module")
def web(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    quiet = logging.getLogger("httpx")  # one line per request otherwise
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with procfile_web(MQTT_TOPIC_PREFIX=f"fuzz-{uuid.uuid4().hex[:8]}/gridtwin/devices") as url:
            yield url
    finally:
        quiet.setLevel(level)


def owner_ids() -> list[str]:
    """Every id the demo owner has now (homes, devices, commands, alerts)."""
    rows = [
        Home.objects.filter(owner__username=DEMO),
        Device.objects.filter(home__owner__username=DEMO),
        DeviceCommand.objects.filter(device__home__owner__username=DEMO),
        Alert.objects.filter(device__home__owner__username=DEMO),
    ]
    return [str(pk) for queryset in rows for pk in queryset.values_list("pk", flat=True)]


def answer_checked(response: httpx.Response, document: str) -> dict[str, Any]:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        message = error.get("message")
        assert isinstance(message, str) and message.strip(), error
        assert message != MASKED, f"masked fault for {document!r}"
        assert "Traceback" not in message and " object at 0x" not in message, error
    return body


def with_variables(document: graphql.DocumentNode) -> tuple[str, dict[str, Any]]:
    """The same operation with each root field's arguments sent as variables, as clients do:
    values then go through the scalars' ``parse_value``, not their literal parsing."""
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    root = SCHEMA.get_root_type(operation.operation)
    assert root is not None
    definitions: list[graphql.VariableDefinitionNode] = []
    variables: dict[str, Any] = {}
    selections = []
    for selection in operation.selection_set.selections:
        assert isinstance(selection, graphql.FieldNode)
        field_def = root.fields[selection.name.value]
        arguments = []
        for argument in selection.arguments or ():
            variable = graphql.VariableNode(name=graphql.NameNode(value=f"v{len(definitions)}"))
            argument_type = field_def.args[argument.name.value].type
            definitions.append(
                graphql.VariableDefinitionNode(
                    variable=variable, type=graphql.parse_type(str(argument_type))
                )
            )
            variables[variable.name.value] = graphql.value_from_ast_untyped(argument.value)
            arguments.append(graphql.ArgumentNode(name=argument.name, value=variable))
        selections.append(dataclasses.replace(selection, arguments=tuple(arguments)))
    operation = dataclasses.replace(
        operation,
        variable_definitions=tuple(definitions),
        selection_set=dataclasses.replace(operation.selection_set, selections=tuple(selections)),
    )
    return graphql.print_ast(graphql.DocumentNode(definitions=(operation,))), variables


def fuzz_field(client: httpx.Client, field: str, token: str | None, other: OtherOwner) -> None:
    """Send ``EXAMPLES_PER_FIELD`` generated operations on one root field."""
    pool = [*owner_ids(), *sorted(other.ids), "0", "-1", "987654321", missing_uuid()]
    build = mutations if field in MUTATION_FIELDS else queries
    documents = build(SDL, fields=[field], custom_scalars=scalars(pool), print_ast=lambda d: d)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    @settings(
        max_examples=EXAMPLES_PER_FIELD,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(tree=documents, as_variables=st.booleans())
    def one(tree: graphql.DocumentNode, as_variables: bool) -> None:
        if as_variables:
            document, variables = with_variables(tree)
        else:
            document, variables = graphql.print_ast(tree), {}
        note(f"{document}\nvariables: {variables!r}")
        response = client.post(
            "/graphql/", json={"query": document, "variables": variables}, headers=headers
        )
        body = answer_checked(response, document)
        data = body.get("data") or {}
        counts = tally.setdefault(field, [0, 0])
        counts[0] += 1
        counts[1] += data.get(field) is not None and not body.get("errors")
        found = leaks(body, other)
        assert not found, f"another owner's data in {document!r}: {found}"
        if token is None and field not in PUBLIC_FIELDS:
            assert data.get(field) is None, f"data without a token for {document!r}: {body}"

    one()


@pytest.mark.parametrize("caller", ["owner", "anonymous"])
def test_generated_operations_on_every_root_field(web: str, caller: str) -> None:
    # given the demo owner's homes and devices and a second owner's, all recognisable
    call_command("seed_demo", stdout=io.StringIO())
    other = other_owner_seed()
    before = other_owner_rows(other)
    tally.clear()
    with httpx.Client(base_url=web, timeout=30) as client:
        token = None
        if caller == "owner":
            login = client.post(
                "/graphql/", json={"query": LOGIN, "variables": {"u": "demo", "p": "gridtwin-demo"}}
            )
            token = login.json()["data"]["loginUser"]["accessToken"]
        # when every root field gets its generated operations (the demo data restored before
        # each field, so deletes of one field do not starve the next)
        for field in [*QUERY_FIELDS, *MUTATION_FIELDS]:
            call_command("seed_demo", stdout=io.StringIO())
            fuzz_field(client, field, token, other)
    sent = sum(counts[0] for counts in tally.values())
    print(f"\n{caller}: {sent} GraphQL operations sent")
    # then the second owner's rows are as they were
    assert other_owner_rows(other) == before
    assert set(tally) == {*QUERY_FIELDS, *MUTATION_FIELDS}
    answered = {field for field, counts in tally.items() if counts[1]}
    if caller == "owner":
        # and most fields answered with data, so the operations got past their arguments
        assert len(answered) >= 3 * len(tally) // 4, sorted(set(tally) - answered)
    else:
        assert answered <= PUBLIC_FIELDS, answered

"""The SDL is snapshotted so every schema change shows up in review.

After an intended change: ``UPDATE_SNAPSHOTS=1 make pytest`` rewrites the snapshot.
"""

import os
from pathlib import Path

from graphql_api.schema import schema

SNAPSHOT = Path(__file__).parent / "snapshots" / "schema.graphql"


def test_schema_matches_snapshot() -> None:
    sdl = schema.as_str() + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(sdl)
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1 and commit it"
    assert sdl == SNAPSHOT.read_text(), "schema changed: review it, then UPDATE_SNAPSHOTS=1"

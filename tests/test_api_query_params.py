"""A read's query string: a parameter the endpoint does not take is a 422 naming it (QA 2026-12-07: a misspelt
filter, ``/api/v1/plans?knd=training``, was ignored and every plan listed with a 200), after the token check."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpucast.store import open_store
from gpucast.store.services import add_user
from gpucast.store.tokens import create_token
from gpucast.web import create_app


@pytest.fixture
def client(tmp_path) -> TestClient:
    return TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}"))


@pytest.mark.parametrize(
    ("url", "field", "accepted"),
    [
        ("/api/v1/plans?knd=training", "knd", "gpu, kind, limit, offset, service, since, sort, until"),
        ("/api/v1/gpus?vendor=nvidia", "vendor", "none"),
        ("/api/v1/services?tem=ml", "tem", "environment, limit, offset, team"),
        ("/api/v1/requests?stauts=draft", "stauts", None),
    ],
)
def test_an_unknown_query_parameter_is_a_422_naming_it(client, url, field, accepted) -> None:
    answer = client.get(url)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == field and f"unknown query parameter {field!r}" in body["error"]
    if accepted is not None:
        assert f"(accepted: {accepted})" in body["error"]


def test_declared_parameters_still_answer(client) -> None:
    assert client.get("/api/v1/plans?kind=training&limit=5&offset=0").json()["limit"] == 5
    assert client.get("/api/v1/prices?cloud=aws").status_code == 200
    assert client.get("/api/v1/services?team=ml").status_code == 200


def test_the_token_is_checked_before_the_query(client) -> None:
    """Who may list tokens is decided first: without a token, a misspelt parameter is still a 401, not a 422."""
    assert client.get("/api/v1/tokens?usr=x").status_code == 401


def test_with_a_token_the_misspelt_parameter_is_refused(tmp_path) -> None:
    """A misspelt ``usr=`` beside the token's own ``user=`` was ignored: now a 422, once the token is checked."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    with open_store(url) as store, store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        token = create_token(session, "alice", "alice")[0]
    with TestClient(create_app(url)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/tokens?user=alice", headers=headers).status_code == 200
        refused = client.get("/api/v1/tokens?user=alice&usr=bob", headers=headers)
        assert refused.status_code == 422 and refused.json()["field"] == "usr"

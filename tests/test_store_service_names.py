"""Service names (issue 18, item 1): one syntax — a DNS-1123 label, as Kubernetes names its objects — checked by
the store before anything is written, so the CLI, the REST API and the pages refuse the same names with the same
one-line message, and a refused name leaves no row behind. Real SQLite, real CLI, real TestClient."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from conftest import page_login
from gpucast.cli.main import main
from gpucast.errors import InputError
from gpucast.store import open_store
from gpucast.store.services import SERVICE_NAME_MAX, ServiceFields, add_service, add_user, check_service_name
from gpucast.store.tokens import create_token
from gpucast.web import create_app

FIELDS = ServiceFields(team="ml", environment="prod", criticality="tier1", cloud="aws", region="us-east-1")
BODY = {"team": "ml", "environment": "prod", "criticality": "tier1", "cloud": "aws", "region": "us-east-1"}
VALID = ["chat", "chat-assistant", "svc2", "x", "2024-chat", "a" * SERVICE_NAME_MAX, "a-b-c"]
INVALID = ["", "   ", "x/y", "../../etc/passwd", "<script>alert(1)</script>", "café☃2", "a\x00b", "Chat", "-chat",
           "chat-", "a" * (SERVICE_NAME_MAX + 1), "a.b", "a_b", "chat assistant", "ch\nat", "..", "%2F"]  # fmt: skip


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'names.db'}")
    with opened.write() as session:
        add_user(session, "alice", "requester", actor="alice")
    yield opened
    opened.close()


def _names(store) -> list[str]:
    from gpucast.store.services import list_services

    with store.read() as session:
        return [s.name for s in list_services(session)]


@pytest.mark.parametrize("name", VALID)
def test_valid_names_are_stored(store, name):
    with store.write() as session:
        assert add_service(session, name, FIELDS, actor="alice").name == name
    assert _names(store) == [name]


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names_are_refused_before_anything_is_written(store, name):
    with pytest.raises(InputError) as raised, store.write() as session:
        add_service(session, name, FIELDS, actor="alice")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("service name ")
    assert "is not valid: use lowercase letters, digits and '-'" in message and "'chat-assistant'" in message
    assert _names(store) == []


def test_the_message_names_the_value_and_the_rule():
    with pytest.raises(InputError) as raised:
        check_service_name("x/y")
    assert str(raised.value) == (
        "service name 'x/y' is not valid: use lowercase letters, digits and '-', starting and ending with a letter "
        f"or digit (1-{SERVICE_NAME_MAX} characters), e.g. 'chat-assistant'"
    )
    with pytest.raises(InputError) as raised:
        check_service_name("a" * 10_000)
    assert len(str(raised.value)) < 300  # a huge name is shortened in the message
    assert check_service_name("  chat  ") == "chat"  # surrounding blanks are trimmed, as every form field is


def test_the_cli_refuses_a_bad_name_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    flags = ["--team", "ml", "--environment", "prod", "--criticality", "tier1", "--cloud", "aws", "--region", "r"]
    assert main(["service", "add", "x/y", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "service name 'x/y' is not valid" in err
    assert main(["service", "add", "chat-assistant", *flags, "--json"]) == 0
    capsys.readouterr()
    assert main(["service", "list", "--json"]) == 0
    assert '"x/y"' not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["café☃2", "a\x00b", "x/y", "../../etc/passwd", "<script>alert(1)</script>"])
def test_the_api_answers_422_and_saves_nothing(store, name):
    with store.write() as session:
        token = create_token(session, "alice", "alice")[0]
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(store=store)) as client:
        for _attempt in range(2):  # a retry gets the same answer, not "already exists"
            response = client.post("/api/v1/services", json=BODY | {"name": name}, headers=headers)
            assert response.status_code == 422, response.text
            assert "is not valid: use lowercase letters" in response.json()["error"]
        assert client.get("/api/v1/services").json()["items"] == []
    assert _names(store) == []


def test_the_api_location_header_is_the_encoded_canonical_name(store):
    with store.write() as session:
        token = create_token(session, "alice", "alice")[0]
    with TestClient(create_app(store=store)) as client:
        created = client.post("/api/v1/services", json=BODY | {"name": " chat-assistant "},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == "/api/v1/services/chat-assistant"
        assert client.get(created.headers["Location"]).json()["name"] == "chat-assistant"


def test_the_services_page_shows_the_store_message(store):
    with store.write() as session:
        token = create_token(session, "alice", "alice")[0]
    client = TestClient(create_app(store=store))
    csrf = page_login(client, token)
    response = client.post("/services", data=BODY | {"name": "x/y", "csrf_token": csrf})
    assert response.status_code == 422
    error = re.search(r'id="form-error">([^<]*)<', response.text)
    assert error and "service name &#39;x/y&#39; is not valid" in error.group(1)
    assert _names(store) == []


def test_tags_and_gpu_types_are_stored_once_each_without_blanks(tmp_path):
    """`--tags "a,b,,a"` was stored as a, b, a, a REST body's ["a", " ", "a"] kept the blank, and `--gpus
    H100,H100-SXM` (one GPU type under two names) listed H100-SXM twice."""
    from gpucast.store.services import ServiceFields, add_service

    fields = ServiceFields(team="ml", environment="prod", criticality="tier1", cloud="aws", region="us-east-1",
                           tags=["a", "b", " ", "a", " b "], allowed_instance_types=["H100", "H100-SXM", "A100"])  # fmt: skip
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store, store.write() as session:
        service = add_service(session, "chat", fields, actor="alice")
        assert service.tags == ["a", "b"]
        assert service.allowed_instance_types == ["H100-SXM", "A100-SXM4-40GB"]

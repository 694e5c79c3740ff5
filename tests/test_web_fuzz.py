"""The JSON API fuzzed from its own OpenAPI schema with Schemathesis (issue 24, item 2), on a real SQLite store.

* every operation gets schema-valid and schema-violating requests (Schemathesis' positive and negative modes);
* Schemathesis' own state machine chains the operations over the links it infers from the schema;
* a workflow machine walks services -> metrics -> plans -> capacity requests and their transitions, each step's
  request drawn by Schemathesis for that operation, with the ids and names of earlier answers put in.

Every answer must be below 500, carry no Python traceback, and every error (>= 400) must be the one JSON error
shape ``{"error": str, "field": str | null}``. Examples and steps are bounded so the file runs in well under a
minute. The server runs in-process (ASGI): an exception inside it fails the test with its traceback.
"""

from __future__ import annotations

import itertools
import json
import os
import string
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)

from gpucast.store import open_store  # noqa: E402
from gpucast.store.services import add_user  # noqa: E402
from gpucast.store.tokens import create_token  # noqa: E402
from gpucast.web import create_app  # noqa: E402

FAST = settings(deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate], database=None)
EXAMPLES = int(os.environ.get("GPUCAST_FUZZ_EXAMPLES", "30"))  # per operation (valid or not); ~25 operations
POS, NEG = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE


def check(response: Any, label: str) -> None:
    """No 5xx, no traceback, and every error in the one JSON shape."""
    text = response.text
    assert response.status_code < 500, f"{label}: {response.status_code} {text[:500]}"
    assert "Traceback (most recent call last)" not in text, f"{label}: {text[:500]}"
    if response.status_code >= 400:
        try:
            body = json.loads(text)
        except ValueError:
            pytest.fail(f"{label}: {response.status_code} is not JSON: {text[:300]}")
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (label, body)
        assert "field" in body and (body["field"] is None or isinstance(body["field"], str)), (label, body)
        assert "\n" not in body["error"], (label, body)  # one line


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The app over a fresh store with an admin's token (the admin may do every step of the workflow except
    approving their own request) and an approver's token (approves the admin's requests)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    with open_store(url) as store, store.write() as session:
        add_user(session, "root", "admin", actor="root")
        add_user(session, "bob", "approver", actor="root")
        tokens = {name: create_token(session, name, "root")[0] for name in ("root", "bob")}
    app = create_app(url)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema, {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}


def test_every_operation_with_valid_and_invalid_input(api):
    schema, auth = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole API, not a filtered part of it
    for operation in operations:

        @settings(FAST, max_examples=EXAMPLES)
        @given(case=either(operation))
        def fuzz(case: Any) -> None:
            check(case.call(headers=auth["root"]), case.operation.label)

        fuzz()


def either(operation: Any) -> Any:
    """Schema-valid or schema-violating requests for one operation."""
    return operation.as_strategy(POS) | operation.as_strategy(NEG)


def test_schemathesis_state_machine_over_inferred_links(api):
    schema, auth = api
    machine = schema.as_state_machine()

    class Checked(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth["root"]}

        def validate_response(self, response: Any, case: Any, **_kwargs: Any) -> None:
            check(response, case.operation.label)

    run_state_machine_as_test(Checked, settings=settings(FAST, max_examples=25, stateful_step_count=8))


PLAN = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}  # fmt: skip
ACTIONS = ("submit", "approve", "reject", "provision")
NAMES = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20).filter(lambda n: n[0].isalnum())
CSV_ROWS = st.lists(
    st.tuples(st.integers(0, 23), st.floats(0, 1e4, allow_nan=False) | st.sampled_from(["x", "", "-1", "nan"])),
    min_size=1,
    max_size=5,
)


def test_workflow_services_metrics_plans_requests(api):
    """services -> metrics -> plans -> requests -> transitions: Schemathesis draws each request (valid or not), and
    the workflow puts in what earlier answers returned, so the later steps reach real records."""
    schema, auth = api
    operation = {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
    reached: set[tuple[str, int]] = set()
    unique = itertools.count()

    class Workflow(RuleBasedStateMachine):
        services = Bundle("services")
        plans = Bundle("plans")
        requests = Bundle("requests")

        def call(self, label: str, case: Any, who: str = "root") -> Any:
            response = case.call(headers=auth[who])
            check(response, label)
            reached.add((label, response.status_code))
            return response

        @initialize(target=requests)
        def a_draft(self) -> int:
            """Each example starts with one valid service and a draft request, so transitions have a target."""
            name = f"base-{next(unique)}"
            service = {"name": name, "team": "ml", "environment": "prod", "criticality": "tier1", "cloud": "aws",
                       "region": "us-east-1"}  # fmt: skip
            with TestClient(schema.app) as client:
                client.post("/api/v1/services", json=service, headers=auth["root"])
                body = {"service": name, "gpu_type": "H100", "count": 2, "region": "us-east-1", "justification": "x"}
                answer = client.post("/api/v1/requests", json=body, headers=auth["root"])
            assert answer.status_code == 201, answer.text
            return int(answer.json()["id"])

        @rule(target=services, case=operation["POST /api/v1/services"].as_strategy(POS), name=NAMES)
        def create_service(self, case: Any, name: str) -> str:
            name = f"{name}-{next(unique)}"  # the store outlives one example: a new name each time, so a
            # step's answer depends only on what Hypothesis drew (no 409 from an earlier example)
            anchors = {"name": name, "environment": "prod", "criticality": "tier1", "cloud": "aws",
                       "region": "us-east-1"}  # fmt: skip
            case.body = {**(case.body if isinstance(case.body, dict) else {}), **anchors}
            created = self.call("POST /api/v1/services", case).status_code == 201
            return name if created else multiple()  # later steps use services that exist

        @rule(service=services, rows=CSV_ROWS, case=operation["POST /api/v1/services/{name}/metrics"].as_strategy())
        def import_metrics(self, service: str, rows: list[tuple[int, Any]], case: Any) -> None:
            text = "timestamp,rps\n" + "".join(f"2025-01-01T{h:02d}:00:00Z,{v}\n" for h, v in rows)
            case.path_parameters = {"name": service}
            case.body = {"file": text}
            self.call("POST /api/v1/services/{name}/metrics", case)

        @rule(service=services, case=either(operation["GET /api/v1/services/{name}/metrics"]))
        def read_metrics(self, service: str, case: Any) -> None:
            case.path_parameters = {"name": service}
            self.call("GET /api/v1/services/{name}/metrics", case)

        @rule(target=plans, service=services, valid=st.booleans(), case=either(operation["POST /api/v1/inference"]))
        def save_plan(self, service: str, valid: bool, case: Any) -> int:
            if valid:  # a random body rarely names a real model: half the plans are a known question
                case.body = PLAN
            case.query = {**(case.query or {}), "save": "true", "service": service}
            response = self.call("POST /api/v1/inference", case)
            plan_id = response.headers.get("x-gpucast-plan-id")  # Schemathesis: each header a list of values
            return int(plan_id[0]) if plan_id else multiple()

        @rule(target=requests, service=services, plan=plans | st.just(0), valid=st.booleans(),
              case=operation["POST /api/v1/requests"].as_strategy())  # fmt: skip
        def create_request(self, service: str, plan: int, valid: bool, case: Any) -> int:
            body = case.body if isinstance(case.body, dict) else {}
            anchors = {"gpu_type": "H100", "region": "us-east-1"} if valid else {}
            case.body = {**body, **anchors, "service": service, **({"plan_id": plan} if plan else {})}
            response = self.call("POST /api/v1/requests", case)
            return int(response.json()["id"]) if response.status_code == 201 else multiple()

        @rule(request_id=requests, who=st.sampled_from(["root", "bob"]), action=st.sampled_from(ACTIONS),
              case=operation["POST /api/v1/requests/{request_id}/{action}"].as_strategy())  # fmt: skip
        def move(self, request_id: int, who: str, action: str, case: Any) -> None:
            case.path_parameters = {"request_id": request_id, "action": action}  # the body stays Schemathesis'
            self.call("POST /api/v1/requests/{request_id}/{action}", case, who)

        @rule(request_id=requests, case=operation["GET /api/v1/requests/{request_id}"].as_strategy())
        def show(self, request_id: int, case: Any) -> None:
            case.path_parameters = {"request_id": request_id}
            self.call("GET /api/v1/requests/{request_id}", case)

    run_state_machine_as_test(
        Workflow, settings=settings(FAST, max_examples=25, stateful_step_count=25, derandomize=True)
    )
    # the workflow reached real records: services, metrics, saved plans, requests and their transitions
    for label, status in (("POST /api/v1/services", 201), ("POST /api/v1/services/{name}/metrics", 200),
                          ("POST /api/v1/inference", 201), ("POST /api/v1/requests", 201),
                          ("POST /api/v1/requests/{request_id}/{action}", 200)):  # fmt: skip
        assert (label, status) in reached, (label, status, sorted(reached))

"""Capacity-request workflow: roles, the four-eyes rule, states — on SQLite and PostgreSQL, plus property tests."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from gpucast.errors import InputError, StoreConflictError, StoreNotFoundError, WorkflowError
from gpucast.store import open_store
from gpucast.store.models import ROLES, STATUSES, CapacityRequest, RequestComment
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.workflow import TRANSITIONS, check_transition, create_request, get_request, transition
from test_store_db import db_url, store  # noqa: F401  (fixtures)


def _setup(store, *, admin: bool = False) -> None:  # noqa: F811
    with store.write() as s:
        add_user(s, "rita", "requester", actor="setup")
        add_user(s, "alex", "approver", actor="setup")
        add_user(s, "vic", "viewer", actor="setup")
        if admin:
            add_user(s, "ada", "admin", actor="setup")
        fields = ServiceFields(team="ml", environment="prod", criticality="tier1", cloud="aws", region="us-east-1")
        add_service(s, "chat", fields, actor="rita")


def _create(store, actor="rita") -> int:  # noqa: F811
    with store.write() as s:
        return create_request(s, service="chat", gpu_type="H100", count=8, region="us-east-1",
                              justification="launch", actor=actor).id  # fmt: skip


def test_happy_path_records_every_transition(store):  # noqa: F811
    _setup(store)
    rid = _create(store)
    for action, actor in (("submit", "rita"), ("approve", "alex"), ("provision", "alex")):
        with store.write() as s:
            transition(s, rid, action, actor, comment=f"{action} ok")
    with store.read() as s:
        request = get_request(s, rid)
        assert request.status == "provisioned" and request.approver.name == "alex"
        assert request.monthly_cost and request.monthly_cost > 0  # from the catalog price
        assert [c.to_status for c in request.comments] == ["draft", "submitted", "approved", "provisioned"]
        assert request.submitted_at <= request.decided_at <= request.provisioned_at


@pytest.mark.parametrize(
    ("steps", "actor", "action", "message"),
    [
        ([], "alex", "approve", "cannot approve a request that is draft"),
        (
            [("submit", "rita")],
            "rita",
            "approve",
            "approve needs the role approver or admin; 'rita' has the role requester",
        ),
        ([("submit", "rita")], "vic", "reject", "viewer"),
        ([("submit", "rita"), ("reject", "alex")], "alex", "provision", "rejected is final"),
        ([], "alex", "submit", "only the request's requester"),
        ([], "nobody-here", "submit", "registered user"),
    ],
)
def test_refused_transitions_name_the_problem(store, steps, actor, action, message):  # noqa: F811
    _setup(store)
    rid = _create(store)
    for step, who in steps:
        with store.write() as s:
            transition(s, rid, step, who)
    with pytest.raises(WorkflowError, match=message), store.write() as s:
        transition(s, rid, action, actor)
    with store.read() as s:  # the refused change left nothing behind
        assert len(get_request(s, rid).comments) == 1 + len(steps)


def test_an_approver_cannot_approve_their_own_request(store):  # noqa: F811
    _setup(store, admin=True)
    rid = _create(store, actor="alex")
    with store.write() as s:
        transition(s, rid, "submit", "alex")
    with pytest.raises(WorkflowError, match="cannot approve their own request"), store.write() as s:
        transition(s, rid, "approve", "alex")
    with store.write() as s:
        assert transition(s, rid, "approve", "ada").status == "approved"


def test_create_checks_role_service_and_values(store):  # noqa: F811
    _setup(store)
    with pytest.raises(WorkflowError, match="viewer"):
        _create(store, actor="vic")
    with pytest.raises(StoreNotFoundError, match="service 'nope'"), store.write() as s:
        create_request(s, service="nope", gpu_type="H100", count=1, region="r", justification="j", actor="rita")
    with pytest.raises(InputError, match="--count"), store.write() as s:
        create_request(s, service="chat", gpu_type="H100", count=0, region="r", justification="j", actor="rita")
    with pytest.raises(StoreNotFoundError, match="request 42"), store.read() as s:
        get_request(s, 42)


def test_users_bootstrap_then_admin_only(store):  # noqa: F811
    with store.write() as s:
        add_user(s, "root-admin", "admin", actor="anyone")
    with pytest.raises(WorkflowError, match="only an admin"), store.write() as s:
        add_user(s, "eve", "approver", actor="eve")
    with store.write() as s:
        add_user(s, "eve", "approver", actor="root-admin")
    with pytest.raises(StoreConflictError), store.write() as s:
        add_user(s, "eve", "viewer", actor="root-admin")


# --- property tests -------------------------------------------------------------------------------------------


def _oracle(action: str, status: str, role: str, is_requester: bool) -> str | None:
    """The workflow table written out independently of the implementation."""
    nxt = {("submit", "draft"): "submitted", ("approve", "submitted"): "approved",
           ("reject", "submitted"): "rejected", ("provision", "approved"): "provisioned"}.get((action, status))  # fmt: skip
    if nxt is None or role == "viewer":
        return None
    if action == "submit":
        return nxt if role == "admin" or (is_requester and role != "viewer") else None
    if role not in ("approver", "admin"):
        return None
    if action in ("approve", "reject") and is_requester:
        return None
    return nxt


@given(st.sampled_from(list(TRANSITIONS)), st.sampled_from(STATUSES), st.sampled_from(ROLES), st.booleans())
def test_check_transition_matches_the_table(action, status, role, is_requester):
    expected = _oracle(action, status, role, is_requester)
    if expected is None:
        with pytest.raises(WorkflowError):
            check_transition(action, status, role, is_requester=is_requester)
    else:
        assert check_transition(action, status, role, is_requester=is_requester) == expected


def test_every_state_is_reachable_and_final_states_are_final():
    reachable = {"draft"}
    for _ in range(4):
        reachable |= {end for (start, end, _roles) in TRANSITIONS.values() if start in reachable}
    assert reachable == set(STATUSES)
    for final in ("rejected", "provisioned"):
        for action, role in itertools.product(TRANSITIONS, ROLES):
            assert _oracle(action, final, role, False) is None


class WorkflowMachine(RuleBasedStateMachine):
    """Random sequences of create/act on a real SQLite database; the DB always agrees with the oracle."""

    requests = Bundle("requests")
    users: ClassVar[dict[str, str]] = {"rita": "requester", "rob": "requester", "alex": "approver",
                                       "amy": "approver", "ada": "admin", "vic": "viewer"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = open_store(str(Path(self.tmp.name) / "wf.db"))
        with self.store.write() as s:
            for name, role in self.users.items():
                add_user(s, name, role, actor=name if role == "admin" else "ada")
            add_service(s, "svc", ServiceFields(team="t", environment="dev", criticality="tier3", cloud="aws",
                                                region="r"), actor="ada")  # fmt: skip
        self.model: dict[int, tuple[str, str, int]] = {}  # id -> (status, requester, transitions)

    @rule(target=requests, who=st.sampled_from(["rita", "rob", "alex", "ada"]))
    def create(self, who):
        with self.store.write() as s:
            rid = create_request(s, service="svc", gpu_type="A100", count=2, region="r", justification="j",
                                 actor=who).id  # fmt: skip
        self.model[rid] = ("draft", who, 0)
        return rid

    @rule(rid=requests, action=st.sampled_from(list(TRANSITIONS)), who=st.sampled_from(sorted(users)))
    def act(self, rid, action, who):
        status, requester, moves = self.model[rid]
        expected = _oracle(action, status, self.users[who], who == requester)
        try:
            with self.store.write() as s:
                new = transition(s, rid, action, who).status
        except WorkflowError:
            assert expected is None, (action, status, who)
        else:
            assert new == expected
            self.model[rid] = (new, requester, moves + 1)

    @invariant()
    def database_agrees(self):
        with self.store.read() as s:
            for rid, (status, _requester, moves) in self.model.items():
                assert s.get(CapacityRequest, rid).status == status
                assert s.query(RequestComment).filter_by(request_id=rid).count() == moves + 1

    def teardown(self):
        self.store.close()
        self.tmp.cleanup()


WorkflowMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_workflow_state_machine = WorkflowMachine.TestCase

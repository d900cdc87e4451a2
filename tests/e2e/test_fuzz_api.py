"""Schemathesis over the merged OpenAPI document, every check enabled.

No generated request may get a 5xx, every response must match its documented status, media
type and schema, schema-valid requests must be accepted and invalid ones refused. Domain
formats the schema cannot express get generators of their own: a valid USCC (the check
character), an ISO 3166 country code, and an empty page cursor (cursors are opaque); a
zone's plan dates come in order; strings carry no NUL character.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from pydantic import TypeAdapter, ValidationError

from deploy.launcher import Stack
from gateway.roles import ADMINISTRATIVE
from kit.iso3166 import ALPHA2
from kit.uscc import generate
from services.credit.facts.schemas import FactIn
from services.credit.policy.schemas import ModelIn
from services.credit.recognitions.schemas import RecognitionIn
from services.credit.scores.schemas import SimulateIn
from services.inspection.campaigns.schemas import CampaignIn
from services.inspection.checklists.schemas import ChecklistIn
from services.inspection.inspectors.schemas import ConflictIn
from services.inspection.labs.schemas import LabIn, LabPatch
from services.inspection.labs.schemas import ResultIn as LabResultIn
from services.inspection.risk.schemas import AlertPatch, SignalIn
from services.inspection.sync.schemas import SyncPush
from services.inspection.tasks.schemas import ResultIn
from services.notify.bulletins.schemas import BulletinIn
from services.notify.subscriptions.schemas import SubscriptionIn
from services.registry.batches.schemas import BatchIn, LotEventIn
from services.registry.programme.leadership.schemas import ActionItemDone, GroupIn, MeetingIn
from services.registry.programme.responsibilities.schemas import ResponsibilityIn
from services.registry.programme.standards.schemas import AdoptionIn, DeclarationIn, StandardIn
from services.registry.programme.trainings.schemas import TrainingIn
from tests.helpers import running_stack, token, wait_until

EXAMPLES_PER_OPERATION = 25

schemathesis.openapi.format("uscc", st.builds(generate, st.randoms(use_true_random=False)))
schemathesis.openapi.format("iso3166-alpha2", st.sampled_from(sorted(ALPHA2)))
schemathesis.openapi.format("page-cursor", st.just(""))


# Credit request bodies whose only fault is a rule across fields (bands that tile the score
# range, expiry after occurrence, an amount only on penalties) or against the clock (a fact
# dated in the future): a schema cannot state those; field-level faults still count.
CROSS_FIELD_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/credit/facts"): FactIn,
    ("POST", "/v1/credit/simulate"): SimulateIn,
    ("PUT", "/v1/credit/model"): ModelIn,
    ("POST", "/v1/credit/recognitions"): RecognitionIn,
    ("POST", "/v1/campaigns"): CampaignIn,
    ("POST", "/v1/checklists"): ChecklistIn,
    ("POST", "/v1/inspectors/{inspector_id}/conflicts"): ConflictIn,
    ("POST", "/v1/tasks/{task_id}/result"): ResultIn,
    ("POST", "/v1/sync"): SyncPush,
    ("POST", "/v1/batches"): BatchIn,
    ("POST", "/v1/batches/{batch_id}/events"): TypeAdapter(LotEventIn),
    ("POST", "/v1/risk/signals"): SignalIn,
    ("PATCH", "/v1/risk/alerts/{alert_id}"): AlertPatch,
    ("POST", "/v1/labs"): LabIn,
    ("PATCH", "/v1/labs/{lab_id}"): LabPatch,
    ("POST", "/v1/test-requests/{request_id}/result"): LabResultIn,
    ("POST", "/v1/subscriptions"): SubscriptionIn,
    ("POST", "/v1/bulletins"): BulletinIn,
    # programme records: a roster's one leader and office, action items due on or after the
    # meeting, a responsibility's party by tier, a standard's scope and text, dates not ahead
    ("POST", "/v1/leadership-groups"): GroupIn,
    ("POST", "/v1/meetings"): MeetingIn,
    ("POST", "/v1/action-items/{item_id}/done"): ActionItemDone,
    ("POST", "/v1/responsibilities"): ResponsibilityIn,
    ("POST", "/v1/standards"): StandardIn,
    ("POST", "/v1/standards/{standard_id}/adoptions"): AdoptionIn,
    ("POST", "/v1/standards/{standard_id}/declarations"): DeclarationIn,
    ("POST", "/v1/trainings"): TrainingIn,
}
# Fields that must not lie in the future (facts, ship dates, lineage events, signals).
PAST_FIELDS = ("occurred_at", "ship_date", "event_time", "notified_at")


def _future(value: object) -> bool:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return False
    if moment is None:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) > datetime.now(UTC)


# The work plan's phases (migration data, from the guidance): a zone's dates fall inside its
# phase's window.
PHASE_WINDOWS = {
    1: ("2017-03-01", "2018-02-28"),
    2: ("2018-03-01", "2019-02-28"),
    3: ("2019-03-01", "2020-02-29"),
}


def _inside_phase(ctx: schemathesis.HookContext, body: dict[str, Any]) -> bool:
    phase = body.get("phase")
    if phase is None:
        return True
    if ctx.operation.method.upper() == "PATCH":
        return False  # checked against the zone's stored dates, which the fuzzer does not know
    window = PHASE_WINDOWS.get(phase) if isinstance(phase, int) else None
    if window is None:
        return False
    dates = [body.get(k) for k in ("plan_start", "plan_end")]
    return all(not isinstance(d, str) or window[0] <= d <= window[1] for d in dates)


@schemathesis.hook
def filter_body(ctx: schemathesis.HookContext, body: object) -> bool:
    """Drop bodies that break only a rule JSON Schema cannot state (see above), and zone
    plans that end before they start."""
    if not isinstance(body, dict):
        return True
    if isinstance(body.get("url"), str) and urlsplit(body["url"]).hostname != "127.0.0.1":
        return False  # resolving a generated host name would send DNS queries off this machine
    if ctx.operation.path == "/v1/standards" and body.get("zone_code") and body.get("industry"):
        return False  # must be the zone's industry: a rule against stored data (422 if not)
    if ctx.operation.path.startswith("/v1/templates") and any(
        c in str(body.get(k, "")) for k in ("title", "body") for c in "{}"
    ):
        return False  # which {variables} a template may use depends on its code
    if ctx.operation.path.startswith(("/v1/clients", "/v1/users")):
        # bound as the gateway counts it: any uscc or inspector_id given, even an empty one
        bound = any(body.get(k) is not None for k in ("uscc", "inspector_id")) or body.get(
            "kind"
        ) in (
            "enterprise",
            "inspector",
        )
        if body.get("agency") is not None:
            return False  # an agency registry does not know (none on this stack): a 422
        scopes = body.get("scopes")
        if bound and isinstance(scopes, list) and set(map(str, scopes)) & ADMINISTRATIVE:
            return False  # a bound identity holding an administrative role: a 422 (roles.py)
        name, password = body.get("username"), body.get("password")
        if (
            isinstance(name, str)
            and isinstance(password, str)
            and name.casefold() in password.casefold()
        ):
            return False  # a password containing the user name: a 422 (users/policy.py)
    if ctx.operation.path.startswith("/v1/zones") and not _inside_phase(ctx, body):
        return False  # the work plan's phases and their windows are data (a 422 naming it)
    if isinstance(body.get("plan_start"), str):
        end = body.get("plan_end")
        return not (isinstance(end, str) and end < body["plan_start"])
    model = CROSS_FIELD_BODIES.get((ctx.operation.method.upper(), ctx.operation.path))
    if model is None:
        return True
    facts = [body, *(body.get("add_facts") or [])]
    if any(isinstance(f, dict) and _future(f.get(k)) for f in facts for k in PAST_FIELDS):
        return False
    if body.get("remove_fact_ids"):  # ids of facts the enterprise does not have: a 422
        return False
    try:
        model.validate_python(body) if isinstance(model, TypeAdapter) else model.model_validate(
            body
        )
    except ValidationError as exc:
        return not any(e["type"] == "value_error" for e in exc.errors())
    return True


# Lists whose `zone` filter is checked against the registry's zones (data, not an enum; in
# inspection, the zones registry announced): a zone the fuzzer did not make is a 422 listing
# the zones (tested in test_problems_zh).
ZONE_CHECKED = {
    "/v1/enterprises",
    "/v1/memberships",
    "/v1/awards",
    "/v1/responsibilities",
    "/v1/standards",
    "/v1/standards/adoption-by-zone",
    "/v1/trainings",
    "/v1/responsibilities/route",
    "/v1/directory",
    "/v1/risk/alerts",
    "/v1/risk/kpis",
}


@schemathesis.hook
def filter_query(ctx: schemathesis.HookContext, query: object) -> bool:
    """Drop queries naming a zone on the lists that check it against stored zones."""
    return not (
        isinstance(query, dict)
        and query.get("zone") is not None
        and ctx.operation.method.upper() == "GET"
        and ctx.operation.path in ZONE_CHECKED
    )


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Stack]:
    """A stack of its own: fuzzing revokes zones and creates clients."""
    # Random USCCs are unknown to credit: answer at once rather than wait for an announcement.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CREDIT_ANNOUNCE_WAIT_S", "0.05")
        with running_stack("fuzz", seed=False) as s:
            yield s


# 25 examples for each of ~170 operations take about 4 minutes on a quiet 2-core machine, and
# the module's stack stops within the same limit: more room than the suite's 300 s default.
@pytest.mark.timeout(900)
def test_every_operation_passes_every_check(fuzz_stack: Stack) -> None:
    base = fuzz_stack.url("gateway")
    # a busy machine may keep a service from answering the gateway's first fetch of its
    # document in time; the merged document (cached 30 s) names each service's state
    wait_until(
        lambda: (
            set(httpx.get(f"{base}/openapi.json", timeout=30).json()["info"]["x-services"].values())
            == {"available"}
        ),
        timeout=120,
        interval=5,
        what="every service's API document",
    )
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    # PostgreSQL text cannot hold NUL: such input is refused with a 422, tested on its own in
    # test_registry_api; here it would only count as "valid data rejected".
    schema.config.generation.update(allow_x00=False)
    headers = {"Authorization": f"Bearer {token(base)}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    unsatisfiable: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            # the same examples every run, so CI's verdict is the code's; ZONE_FUZZ_RANDOM=1
            # explores new ones (run it when changing schemas)
            derandomize=os.environ.get("ZONE_FUZZ_RANDOM") != "1",
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            if case.media_type not in (None, "application/json"):
                return  # JSON lines and CSV uploads: any text is "valid"; tested line by line
            if case.path == "/v1/signing-keys" and isinstance(case.body, dict):
                # revoking the keys ends every token, the fuzzer's own with them (tested in
                # test_api5 and tests/integration/gateway/test_signing_keys.py)
                case.body["revoke_previous"] = False
            try:
                response = case.call_and_validate(base_url=base, headers=headers)
                statuses[response.status_code] += 1
            except BaseException as failure:  # schemathesis reports a FailureGroup
                failures.append(f"{case.method} {case.formatted_path}: {str(failure)[:700]}")

        try:
            run()
        except Unsatisfiable:  # every generated body broke a cross-field rule (see above)
            unsatisfiable.append(f"{operation.method.upper()} {operation.path}")
    assert operations >= 25, "the merged document should list every operation"
    assert not failures, "\n\n".join(failures[:10])
    # Random level bands never tile the score range; the model's rules have their own tests.
    # The responsibility route requires a zone, which must be a stored one (ZONE_CHECKED):
    # every generated query is dropped; test_programme and test_problems_zh cover it.
    allowed = {"PUT /v1/credit/model", "GET /v1/responsibilities/route"}
    assert set(unsatisfiable) <= allowed, unsatisfiable
    # the token worked and the generator reached both the happy and the validation paths
    assert sum(v for k, v in statuses.items() if k < 300) > 50, statuses
    assert statuses[401] == 0, statuses

"""Schemathesis over the merged OpenAPI document, every check enabled.

No generated request may get a 5xx, every response must match its documented status, media
type and schema, schema-valid requests must be accepted and invalid ones refused. Domain
formats the schema cannot express get generators of their own: a valid USCC (the check
character), an ISO 3166 country code, and an empty page cursor (cursors are opaque); a
zone's plan dates come in order; strings carry no NUL character.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.launcher import Stack
from kit.iso3166 import ALPHA2
from kit.uscc import generate
from tests.helpers import running_stack, token

EXAMPLES_PER_OPERATION = 25

schemathesis.openapi.format("uscc", st.builds(generate, st.randoms(use_true_random=False)))
schemathesis.openapi.format("iso3166-alpha2", st.sampled_from(sorted(ALPHA2)))
schemathesis.openapi.format("page-cursor", st.just(""))


@schemathesis.hook
def filter_body(ctx: schemathesis.HookContext, body: object) -> bool:
    """A rule JSON Schema cannot state: a zone's plan does not end before it starts."""
    if isinstance(body, dict) and isinstance(body.get("plan_start"), str):
        end = body.get("plan_end")
        return not (isinstance(end, str) and end < body["plan_start"])
    return True


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Stack]:
    """A stack of its own: fuzzing revokes zones and creates clients."""
    with running_stack("fuzz", seed=False) as s:
        yield s


def test_every_operation_passes_every_check(fuzz_stack: Stack) -> None:
    base = fuzz_stack.url("gateway")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    # PostgreSQL text cannot hold NUL: such input is refused with a 422, tested on its own in
    # test_registry_api; here it would only count as "valid data rejected".
    schema.config.generation.update(allow_x00=False)
    headers = {"Authorization": f"Bearer {token(base)}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            try:
                response = case.call_and_validate(base_url=base, headers=headers)
                statuses[response.status_code] += 1
            except BaseException as failure:  # schemathesis reports a FailureGroup
                failures.append(f"{case.method} {case.formatted_path}: {str(failure)[:700]}")

        run()
    assert operations >= 25, "the merged document should list every operation"
    assert not failures, "\n\n".join(failures[:10])
    # the token worked and the generator reached both the happy and the validation paths
    assert sum(v for k, v in statuses.items() if k < 300) > 50, statuses
    assert statuses[401] == 0, statuses

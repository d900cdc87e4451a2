"""Schemathesis over the merged OpenAPI document: no generated request may get a 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from deploy.launcher import Stack
from tests.helpers import running_stack, token

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Stack]:
    """A stack of its own: fuzzing revokes zones and creates clients."""
    with running_stack("fuzz", seed=False) as s:
        yield s


def test_no_generated_request_gets_a_server_error(fuzz_stack: Stack) -> None:
    base = fuzz_stack.url("gateway")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
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
            response = case.call(base_url=base, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        run()
    assert operations >= 20, "the merged document should list every registry and gateway operation"
    assert not failures, "\n".join(failures[:20])
    # the token worked and the generator reached both the happy and the validation paths
    assert sum(v for k, v in statuses.items() if k < 300) > 50, statuses
    assert statuses[422] > 0 and statuses[401] == 0, statuses

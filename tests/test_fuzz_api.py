"""Fuzz the JSON API from its own OpenAPI schema: no 5xx, every response as documented.

schemathesis generates requests for every operation; hypothesis keeps the number of
examples per operation bounded so that the suite stays fast.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from schemathesis.checks import positive_data_acceptance

from app.config import Settings
from app.main import create_app

EXAMPLES_PER_OPERATION = 15
# The schema gives types and sizes; rules it cannot express (a name that is taken, a name
# with control characters or one that is blank once trimmed, a rate limit) refuse some
# schema-valid requests with a documented 4xx and a message, by design.
RULES_BEYOND_THE_SCHEMA = positive_data_acceptance


def test_every_operation_answers_as_documented(settings: Settings) -> None:
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checked = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith(("/api/", "/healthz", "/readyz")):
                continue  # pages answer HTML; they have their own tests

            @given(case=operation.as_strategy())
            @fuzz_settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(excluded_checks=[RULES_BEYOND_THE_SCHEMA])

            check()
            checked.append(operation.label)
    finally:
        app.state.db.engine.dispose()
    assert "POST /api/questions/{n}/answers" in checked and len(checked) >= 10, checked

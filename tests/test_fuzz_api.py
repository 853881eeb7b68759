"""Fuzz the JSON API from its own OpenAPI schema: no 5xx, every response as documented.

schemathesis generates requests for every operation; hypothesis keeps the number of
examples per operation bounded so that the suite stays fast. Beyond the schema: ids past
any row, names whose normal form is longer, and digits that are not ASCII, on the pages too.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from app.config import Settings
from app.main import create_app
from tests.factories import answer_api, csrf, post_form, start

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


# Past every id a row can have: 2^31 on PostgreSQL, 2^63 on SQLite, and far beyond.
HUGE_IDS = st.one_of(
    st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30]),
    st.integers(min_value=2**31, max_value=2**80),
)
ID_PARAMETERS = ("{attempt_id}", "{claim_id}", "{learner_id}")
# Characters whose normal form (NFKC, then casefold) is longer than they are: U+FDFA is 18.
LONGER_WHEN_NORMAL = "\ufdfa\ufb03\u337f\u2026\u00df\u0130\u01c6"
DIGIT_LIKE = "\u00b2\u00b9\u2460\u0663\u096a\uff11"  # isdigit() or digits, not ASCII


def id_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every route of the app that takes a row id in its path, with each of its methods."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if isinstance(route.original_route, APIRoute) and any(p in path for p in ID_PARAMETERS):
            found += [(path, method) for method in sorted(route.methods or ())]
    return found


def test_ids_past_any_row_get_a_clear_4xx(app: FastAPI, instructor_client: TestClient) -> None:
    routes = id_routes(app)
    assert len(routes) >= 7, routes
    start(instructor_client, "Ada")  # a learner too, for the learner's attempt pages
    token = csrf(instructor_client, "/instructor/claims")
    form = {"csrf_token": token, "decision": "accept", "score": "1", "comment": "c", "note": ""}
    form |= {"point": "values-equal", "justification": "I said so."}

    @given(row_id=HUGE_IDS)
    @fuzz_settings(max_examples=10, deadline=None, database=None)
    def check(row_id: int) -> None:
        for path, method in routes:
            url = path.replace("{n}", "3")
            for parameter in ID_PARAMETERS:
                url = url.replace(parameter, str(row_id))
            if path.startswith("/api/"):
                body = {"score": 1.0, "comment": "c"}
                response = instructor_client.request(
                    method, url, json=body, headers={"X-CSRF-Token": token}
                )
            else:
                response = instructor_client.request(method, url, data=form)
            assert response.status_code == 404, (method, url, response.status_code)
            assert "No such page" in response.text, (method, url)

    check()


def test_names_longer_once_normalised_get_a_clear_4xx(settings: Settings) -> None:
    roomy = settings.model_copy(update={"start_limit_per_address": 10_000})
    with TestClient(create_app(roomy)) as client:
        refused = start(client, "\ufdfa" * 5)  # 5 characters, 90 once spelt out
        assert refused.status_code == 422 and "too long once" in refused.text
        api = answer_api(client, 3, "No.", learner="\ufdfa" * 5)
        assert api.status_code == 422 and "too long once" in api.json()["detail"]

        @given(name=st.text(alphabet=LONGER_WHEN_NORMAL + "ab ", min_size=1, max_size=80))
        @fuzz_settings(max_examples=40, deadline=None, database=None)
        def check(name: str) -> None:
            client.cookies.clear()
            page = start(client, name)
            assert page.status_code in (200, 409, 422), (name, page.status_code)
            answer = answer_api(client, 3, "No.", learner=name)
            assert answer.status_code in (201, 403, 409, 422), (name, answer.status_code)
            if answer.status_code == 422:
                assert "name" in answer.json()["detail"], name

        check()


def test_digits_of_other_kinds_in_the_settings_form_get_a_clear_4xx(
    instructor_client: TestClient,
) -> None:
    def save(after: str) -> Any:
        data = {"mode": "after", "after": after}
        return post_form(instructor_client, "/instructor/settings", data, "/instructor/settings")

    refused = save("\u00b2")
    assert refused.status_code == 422 and "whole number from 1" in refused.text

    @given(after=st.text(alphabet=DIGIT_LIKE + "0123456789 ", min_size=1, max_size=6))
    @fuzz_settings(max_examples=30, deadline=None, database=None)
    def check(after: str) -> None:
        response = save(after)
        plain = after.strip()
        ok = plain.isascii() and plain.isdigit() and 1 <= int(plain) <= 100
        assert response.status_code == (303 if ok else 422), (after, response.status_code)

    check()

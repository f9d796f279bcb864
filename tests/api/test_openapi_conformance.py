"""Schemathesis against the app in-process: every response matches the OpenAPI document."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from .conftest import Api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def api_schema(make_app):
    app, _ = make_app()
    from fastapi.testclient import TestClient
    with TestClient(app) as client:
        # Some data, so show/update/delete also reach their success paths now and then.
        admin = Api(client, "admin-token")
        port = admin.port(admin.network(), **{"binding:host_id": "h1"})
        service = admin.tap_service(port)
        admin.tap_flow(service, admin.port(admin.network()))
        admin.tap_mirror(port, {"IN": 7})
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_responses_conform_to_the_schema(api_schema):
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers={"X-Auth-Token": "admin-token"}, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect all operations' failures, then report
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)

"""Schemathesis over the live server's own OpenAPI document (/openapi.json).

Every generated request carries the admin token. Per operation a bounded number of examples
(positive, negative, and positive on real ids of seeded objects), checked for: no 5xx, responses that match the declared schema, and,
where the operation declares its 4xx responses, only declared status codes.
Runs against its own server (taas_fuzz_server) so fuzzed writes cannot disturb other tests.
"""
from __future__ import annotations

import re

import httpx
import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

ADMIN = {"X-Auth-Token": "admin-token"}
MAX_EXAMPLES = 20
TAAS_PATHS = ("/v2.0/taas/tap_services", "/v2.0/taas/tap_flows", "/v2.0/taas/tap_mirrors")


@pytest.fixture(scope="module")
def api_schema(taas_fuzz_server):
    url = taas_fuzz_server.url
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", headers=ADMIN, timeout=15)
    schema.config.update(base_url=url, headers=ADMIN, request_timeout=15)
    # The document declares two alternative schemes (X-Auth-Token, HTTP Basic). Left on,
    # schemathesis adds random `Authorization: Basic ...` headers next to the admin token
    # and most requests end as 401; authentication has its own tests.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture(scope="module")
def seeded(taas_fuzz_server):
    """Real resources (alice's) so that item operations also meet existing objects."""
    srv = taas_fuzz_server
    net = srv.create_network("alice")
    mon, src = srv.create_port(net, "alice"), srv.create_port(net, "alice")
    with srv.client() as admin:
        def post(path, key, body):
            r = admin.post(path, json={key: {"project_id": srv.projects["alice"], **body}})
            assert r.status_code == 201, f"POST {path} -> {r.status_code} {r.text}"
            return r.json()[key]["id"]
        ts = post("/v2.0/taas/tap_services", "tap_service", {"port_id": mon["id"]})
        tf = post("/v2.0/taas/tap_flows", "tap_flow",
                  {"tap_service_id": ts, "source_port": src["id"], "direction": "BOTH"})
        tm = post("/v2.0/taas/tap_mirrors", "tap_mirror",
                  {"port_id": src["id"], "directions": {"IN": 900}, "remote_ip": "192.0.2.5",
                   "mirror_type": "gre"})
    return {"/v2.0/networks/": net["id"], "/v2.0/ports/": mon["id"],
            "/v2.0/taas/tap_services/": ts, "/v2.0/taas/tap_flows/": tf,
            "/v2.0/taas/tap_mirrors/": tm, "/v2.0/quotas/": srv.projects["alice"],
            "/v2.0/extensions/": "taas"}


def _existing_path_parameters(operation, seeded) -> dict | None:
    names = re.findall(r"{(\w+)}", operation.path)
    if len(names) != 1:
        return None
    for prefix, value in seeded.items():
        if operation.path.startswith(prefix + "{"):
            return {names[0]: value}
    return None


def _declares_client_errors(operation) -> bool:
    """Status code conformance only makes sense where the server documents its 4xx."""
    codes = {str(code) for code in operation.definition.raw.get("responses", {})}
    return any(c.startswith("4") and c != "422" for c in codes) or "4XX" in codes \
        or "default" in codes


def test_openapi_document_describes_the_taas_api(taas_fuzz_server):
    r = httpx.get(f"{taas_fuzz_server.url}/openapi.json", timeout=15)
    assert r.status_code == 200
    doc = r.json()
    assert doc.get("openapi", "").startswith("3.")
    paths = doc["paths"]
    for base in TAAS_PATHS:
        assert base in paths, sorted(paths)
        assert {"get", "post"} <= set(paths[base]), (base, sorted(paths[base]))
        item = [p for p in paths if p.startswith(base + "/{")]
        assert item, f"no item path under {base}"
        assert {"get", "put", "delete"} <= set(paths[item[0]]), (item[0], sorted(paths[item[0]]))
    assert "/v2.0/networks" in paths and "/v2.0/ports" in paths


# schemathesis.pytest.from_fixture() breaks under pytest 9 (it reads node._nodeid), so the
# operations are driven with the documented Hypothesis strategy API instead: one Hypothesis
# run per (operation, generation mode), every failure collected, then reported together.
@pytest.mark.parametrize("mode", ["positive", "negative", "existing"])
def test_api_conforms_to_its_openapi(api_schema, taas_fuzz_server, seeded, mode):
    """positive/negative: every operation, generated data (ids are random, so item
    operations mostly meet 404s); existing: GET/PUT on the seeded objects' real ids."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures = []
    ran = 0
    for operation in operations:
        path_parameters = None
        if mode == "existing":
            path_parameters = _existing_path_parameters(operation, seeded)
            if path_parameters is None or operation.method.upper() not in ("GET", "PUT"):
                continue
        generation_mode = (GenerationMode.NEGATIVE if mode == "negative"
                           else GenerationMode.POSITIVE)
        checks = [not_a_server_error, response_schema_conformance]
        if _declares_client_errors(operation):
            checks.append(status_code_conformance)

        @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                             derandomize=True, suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy(generation_mode=generation_mode,
                                                     path_parameters=path_parameters))
        def run(case):
            nonlocal ran
            ran += 1
            case.call_and_validate(base_url=taas_fuzz_server.url, headers=ADMIN, checks=checks)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            continue  # nothing to negate in this operation (e.g. no parameters, no body)
        except Exception as exc:  # noqa: BLE001 - collected, reported below
            subs = "".join(f"\n  - {type(e).__name__}: {e}" for e in getattr(exc, "exceptions", ()))
            failures.append(f"=== {operation.label} ({mode}):\n{exc}{subs}")
    assert ran >= MAX_EXAMPLES, ran
    assert not failures, f"{len(failures)} of {len(operations)} operations failed:\n" + \
        "\n".join(failures)

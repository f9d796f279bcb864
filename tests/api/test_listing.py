"""List semantics: fields, filters, sorting, keyset paging and links."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import ALICE, error_of


@pytest.fixture
def services(alice, alice_ports):
    """Seven tap services named s0..s6 with descriptions alternating a/b."""
    return [alice.tap_service(alice_ports["mon"], name=f"s{i}", description="ab"[i % 2])
            for i in range(7)]


def _names(body, key="tap_services"):
    return [s["name"] for s in body[key]]


def test_fields_projection_repeatable_and_comma(alice, services):
    body = alice.get("/v2.0/taas/tap_services?fields=id&fields=name").json()
    assert all(set(s) == {"id", "name"} for s in body["tap_services"])
    body = alice.get("/v2.0/taas/tap_services?fields=id,status").json()
    assert all(set(s) == {"id", "status"} for s in body["tap_services"])
    one = alice.get(f"/v2.0/taas/tap_services/{services[0]['id']}?fields=name").json()
    assert one == {"tap_service": {"name": "s0"}}
    # unknown fields are ignored, as in Neutron
    body = alice.get("/v2.0/taas/tap_services?fields=id&fields=nope").json()
    assert all(set(s) == {"id"} for s in body["tap_services"])


def test_equality_filters_with_or_of_repeated_values(alice, services):
    assert _names(alice.get("/v2.0/taas/tap_services?name=s3").json()) == ["s3"]
    got = alice.get("/v2.0/taas/tap_services?name=s1&name=s2&sort_key=name").json()
    assert _names(got) == ["s1", "s2"]
    got = alice.get("/v2.0/taas/tap_services?description=a&name=s2&name=s3").json()
    assert _names(got) == ["s2"]
    assert len(alice.get(f"/v2.0/taas/tap_services?tenant_id={ALICE}").json()[
        "tap_services"]) == 7
    assert alice.get("/v2.0/taas/tap_services?status=ACTIVE").json()["tap_services"] == []


def test_filters_on_ports_and_networks(admin, alice, alice_ports, alice_net):
    got = alice.get(f"/v2.0/ports?network_id={alice_net['id']}&name=vm1").json()["ports"]
    assert [p["id"] for p in got] == [alice_ports["vm1"]["id"]]
    assert len(alice.get("/v2.0/ports?status=ACTIVE").json()["ports"]) == 3
    assert alice.get("/v2.0/ports?admin_state_up=false").json()["ports"] == []
    got = admin.get("/v2.0/ports?binding:host_id=host-2&sort_key=name").json()["ports"]
    assert [p["name"] for p in got] == ["mon", "vm2"]
    r = alice.get("/v2.0/ports?binding:host_id=host-2")  # a tenant cannot see hosts
    assert r.status_code == 400
    seg = alice_net["segmentation_id"]
    assert alice.get(f"/v2.0/networks?segmentation_id={seg}").json()["networks"][0][
        "id"] == alice_net["id"]


@pytest.mark.parametrize("query", ["colour=red", "admin_state_up=maybe",
                                   "segmentation_id=abc", "segmentation_id=99999999999999",
                                   "limit=-1", "limit=x", "sort_key=colour",
                                   "sort_key=name&sort_dir=up",
                                   "page_reverse=perhaps", "name=%00"])
def test_bad_list_parameters_are_400(alice, query):
    path = "/v2.0/networks?" + query
    r = alice.get(path)
    assert r.status_code == 400, (query, r.text)
    error_of(r)


def test_sorting_multiple_keys(alice, services):
    got = alice.get("/v2.0/taas/tap_services?sort_key=description&sort_dir=desc"
                    "&sort_key=name&sort_dir=asc").json()
    assert _names(got) == ["s1", "s3", "s5", "s0", "s2", "s4", "s6"]


def _follow(api, path):
    """All pages from `path`, following next links; returns (names, pages)."""
    names, pages = [], 0
    while path:
        body = api.get(path).json()
        pages += 1
        names += _names(body)
        nxt = [link["href"] for link in body.get("tap_services_links", [])
               if link["rel"] == "next"]
        path = urlsplit(nxt[0])._replace(scheme="", netloc="").geturl() if nxt else None
        assert pages < 20
    return names, pages


def test_paging_with_next_links_visits_every_item_once(alice, services):
    names, pages = _follow(alice, "/v2.0/taas/tap_services?limit=2&sort_key=name")
    assert names == [f"s{i}" for i in range(7)] and pages == 4
    names, _ = _follow(alice, "/v2.0/taas/tap_services?limit=3&sort_key=name&sort_dir=desc")
    assert names == [f"s{i}" for i in reversed(range(7))]


def test_marker_paging_like_the_sdk(alice, services):
    # the SDK keeps asking with ?marker=<last id> while pages are full
    seen, marker = [], None
    while True:
        path = "/v2.0/taas/tap_services?limit=3" + (f"&marker={marker}" if marker else "")
        page = alice.get(path).json()["tap_services"]
        seen += [s["id"] for s in page]
        if len(page) < 3:
            break
        marker = page[-1]["id"]
    assert sorted(seen) == sorted(s["id"] for s in services) and len(seen) == 7


def test_previous_link_and_page_reverse(alice, services):
    first = alice.get("/v2.0/taas/tap_services?limit=2&sort_key=name").json()
    assert [link["rel"] for link in first["tap_services_links"]] == ["next"]
    second_href = first["tap_services_links"][0]["href"]
    second = alice.get(urlsplit(second_href).path + "?" + urlsplit(second_href).query).json()
    assert _names(second) == ["s2", "s3"]
    rels = {link["rel"]: link["href"] for link in second["tap_services_links"]}
    assert set(rels) == {"next", "previous"}
    prev = urlsplit(rels["previous"])
    assert parse_qs(prev.query)["page_reverse"] == ["True"]
    back = alice.get(prev.path + "?" + prev.query).json()
    assert _names(back) == ["s0", "s1"]


def test_unknown_marker_is_404(alice, services):
    r = alice.get("/v2.0/taas/tap_services?limit=2&marker=nope")
    assert r.status_code == 404


def test_marker_of_another_project_is_not_usable(alice, bob, services):
    r = bob.get(f"/v2.0/taas/tap_services?limit=2&marker={services[0]['id']}")
    assert r.status_code == 404


def test_limit_zero_means_everything(alice, services):
    body = alice.get("/v2.0/taas/tap_services?limit=0").json()
    assert len(body["tap_services"]) == 7 and "tap_services_links" not in body


def test_tap_mirror_and_flow_lists_page_and_project(alice, alice_ports):
    svc = alice.tap_service(alice_ports["mon"])
    for i in range(3):
        alice.tap_flow(svc, alice_ports["vm1"], name=f"f{i}")
        alice.tap_mirror(alice_ports["vm2"], {"IN": 40 + i}, name=f"m{i}")
    body = alice.get("/v2.0/taas/tap_mirrors?limit=2&sort_key=name&fields=directions").json()
    assert body["tap_mirrors"] == [{"directions": {"IN": 40}}, {"directions": {"IN": 41}}]
    assert body["tap_mirrors_links"][0]["rel"] == "next"
    body = alice.get("/v2.0/taas/tap_flows?direction=BOTH&sort_key=name&sort_dir=desc").json()
    assert [f["name"] for f in body["tap_flows"]] == ["f2", "f1", "f0"]

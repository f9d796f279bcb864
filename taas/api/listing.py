"""Neutron list semantics: equality filters, `fields` projection, keyset paging and links."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import and_, false, or_
from sqlalchemy.orm import Session
from starlette.datastructures import URL

from taas.api.errors import bad_request, not_found
from taas.api.schemas.common import storable

RESERVED = frozenset({"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"})
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
MAX_INT = 2**31 - 1  # every integer attribute is a 32-bit column


@dataclasses.dataclass(frozen=True)
class Attr:
    """A filterable attribute: its SQL expression and how to parse values. Nullable
    columns are not sortable (keyset paging compares values, and NULL compares to nothing)."""
    column: Any
    kind: type = str
    sortable: bool = True


@dataclasses.dataclass
class ListQuery:
    fields: list[str]
    filters: dict[str, list[str]]
    limit: int | None
    marker: str | None
    sort: list[tuple[str, bool]]       # (attribute, descending)
    page_reverse: bool


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_request(f"Invalid input for {name}: '{value}' is not a boolean")


def parse_query(params: Iterable[tuple[str, str]]) -> ListQuery:
    """Split the query string into paging/projection parameters and attribute filters."""
    multi: dict[str, list[str]] = {}
    for key, value in params:
        if not (storable(key) and storable(value)):
            raise bad_request(f"Invalid input for {key!r}: NUL byte or invalid Unicode")
        multi.setdefault(key, []).append(value)
    limit = None
    if multi.get("limit"):
        raw = multi["limit"][-1]
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request(f"Invalid input for limit: '{raw}' is not an integer") from None
        if not 0 <= limit <= MAX_INT:
            raise bad_request(f"Invalid input for limit: it must be within 0..{MAX_INT}")
        limit = limit or None  # Neutron: limit=0 means no limit
    keys, dirs = multi.get("sort_key", []), multi.get("sort_dir", [])
    for d in dirs:
        if d not in ("asc", "desc"):
            raise bad_request(f"Invalid input for sort_dir: '{d}' is not asc or desc")
    # sort_dir values pair with sort_key values in order; a key without one is ascending.
    sort = [(k, i < len(dirs) and dirs[i] == "desc") for i, k in enumerate(keys)]
    fields = [f for value in multi.get("fields", []) for f in value.split(",") if f]
    return ListQuery(
        fields=fields,
        filters={k: v for k, v in multi.items() if k not in RESERVED},
        limit=limit,
        marker=(multi.get("marker") or [None])[-1] or None,
        sort=sort,
        page_reverse=parse_bool(multi["page_reverse"][-1], "page_reverse")
        if multi.get("page_reverse") else False)


def project(item: dict, fields: list[str]) -> dict:
    """Keep only the requested attributes (unknown names are ignored, as Neutron does)."""
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}


def _convert(attr: Attr, name: str, value: str) -> Any:
    if attr.kind is bool:
        return parse_bool(value, name)
    if attr.kind is int:
        try:
            number = int(value)
        except ValueError:
            raise bad_request(f"Invalid input for {name}: '{value}' is not an integer") from None
        if abs(number) > MAX_INT:
            raise bad_request(f"Invalid input for {name}: {value} is out of range")
        return number
    return value


def apply_filters(stmt, attrs: Mapping[str, Attr], filters: Mapping[str, list[str]],
                  collection: str):
    for name, values in filters.items():
        attr = attrs.get(name)
        if attr is None:
            raise bad_request(f"{name} is not a valid filter for {collection}")
        stmt = stmt.where(attr.column.in_([_convert(attr, name, v) for v in values]))
    return stmt


def _after(columns: list[tuple[Any, bool]], values: list[Any]):
    """Rows strictly after the marker row in the given order (keyset condition)."""
    clauses = []
    for i, (column, descending) in enumerate(columns):
        equal = [c == v for (c, _), v in zip(columns[:i], values[:i])]
        step = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses) if clauses else false()


@dataclasses.dataclass
class Page:
    rows: list
    links: list[dict] | None


def paginate(session: Session, stmt, id_column, attrs: Mapping[str, Attr], query: ListQuery,
             url: URL, collection: str) -> Page:
    """Run `stmt` (already scoped to what the caller may see) with filters, order and paging."""
    scoped = stmt
    stmt = apply_filters(stmt, attrs, query.filters, collection)
    order: list[tuple[Any, bool]] = []
    for name, descending in query.sort:
        attr = attrs.get(name)
        if attr is None or not attr.sortable:
            raise bad_request(f"{name} is not a valid sort_key for {collection}")
        order.append((attr.column, descending))
    if not any(column is id_column for column, _ in order):
        order.append((id_column, False))  # a total order: paging never skips or repeats
    if query.page_reverse:
        order = [(column, not descending) for column, descending in order]
    if query.marker:
        marker_values = session.execute(
            scoped.with_only_columns(*[c for c, _ in order], maintain_column_froms=True)
            .where(id_column == query.marker)).first()
        if marker_values is None:  # also when the marker is another project's
            raise not_found("MarkerNotFound", f"Marker {query.marker} could not be found.")
        stmt = stmt.where(_after(order, list(marker_values)))
    stmt = stmt.order_by(*[c.desc() if d else c.asc() for c, d in order])
    if query.limit:
        stmt = stmt.limit(query.limit + 1)
    rows = list(session.execute(stmt).all())
    more = bool(query.limit) and len(rows) > query.limit
    if more:
        rows = rows[:query.limit]
    if query.page_reverse:
        rows.reverse()
    if not query.limit:
        return Page(rows, None)
    return Page(rows, _links(url, query, rows, more, id_of=lambda row: row[0].id))


def _links(url: URL, query: ListQuery, rows: list, more: bool, id_of) -> list[dict]:
    base = url.remove_query_params(["marker", "page_reverse", "limit"])
    links = []
    # Forward: more rows after this page. Reverse: we came from a later page.
    if rows and ((more and not query.page_reverse) or (query.page_reverse and query.marker)):
        links.append({"rel": "next", "href": str(base.include_query_params(
            limit=query.limit, marker=id_of(rows[-1])))})
    if rows and ((query.marker and not query.page_reverse) or (more and query.page_reverse)):
        links.append({"rel": "previous", "href": str(base.include_query_params(
            limit=query.limit, marker=id_of(rows[0]), page_reverse="True"))})
    return links


def list_collection(session: Session, stmt, id_column, attrs: Mapping[str, Attr],
                    query: ListQuery, url: URL, collection: str,
                    render: Callable[[Any], dict], allowed: Callable[[Any], bool]) -> dict:
    """The body of a list response: projected items plus `<collection>_links` when paging."""
    page = paginate(session, stmt, id_column, attrs, query, url, collection)
    body: dict[str, Any] = {collection: [project(render(row), query.fields)
                                         for row in page.rows if allowed(row)]}
    if page.links is not None:
        body[f"{collection}_links"] = page.links
    return body

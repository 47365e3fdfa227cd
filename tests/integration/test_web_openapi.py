"""The OpenAPI document matches the JSON API: every /api/v1 route is in it, documented with
a summary, a response model for its success answer, and the error answers it can give."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute
from web_support import make_settings

from beachhead.web.app import create_app
from beachhead.web.layout import iter_routes


def test_every_api_route_is_documented_with_a_response_model(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, None))
    doc = app.openapi()
    routes = [
        r
        for r in iter_routes(app.routes)
        if isinstance(r, APIRoute) and r.path.startswith("/api/v1")
    ]
    assert len(routes) >= 14
    for route in routes:
        assert route.response_model is not None, route.path
        for method in route.methods or ():
            op = doc["paths"][route.path][method.lower()]
            assert op.get("summary"), (method, route.path)
            ok = str(route.status_code or 200)
            schema = op["responses"][ok]["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("items"), (method, route.path, schema)
            assert {"401", "403"} <= set(op["responses"]), (method, route.path)
    documented = {
        (path, m.upper())
        for path, ops in doc["paths"].items()
        for m in ops
        if path.startswith("/api/")
    }
    served = {(r.path, m) for r in routes for m in r.methods or ()}
    assert documented == served


def test_pages_are_not_in_the_api_document(tmp_path: Path) -> None:
    doc = create_app(make_settings(tmp_path, None)).openapi()
    assert not [p for p in doc["paths"] if p.startswith(("/inbox", "/settings", "/signin"))]

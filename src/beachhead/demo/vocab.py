"""The demo company's product vocabulary: plans, events, pages and their properties.

The names are the shared vocabulary of docs/architecture.md ("Shared vocabulary of the demo
company"): the shipped templates and definitions refer to exactly these strings, so they live
in one place and nothing else in the generator spells them.

The product is *Tallyboard*, a collaborative reporting tool: people create reports, share
dashboards, comment, invite their team; engineers connect integrations and create API keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

PRODUCT = "Tallyboard"
PRODUCT_DOMAIN = "tallyboard.io"
SITE = f"https://{PRODUCT_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Plan:
    """A price plan: its seat limit (None: negotiated) and its list price per seat a month."""

    key: str
    seat_limit: int | None
    price_per_seat: int


PLANS: tuple[Plan, ...] = (
    Plan("free", 5, 0),
    Plan("team", 25, 12),
    Plan("business", 250, 24),
    Plan("enterprise", None, 40),
)
PLAN_BY_KEY = {p.key: p for p in PLANS}
FREE_SEAT_LIMIT = 5
FREE_REPORT_LIMIT = 25

DEPARTMENTS: tuple[str, ...] = (
    "engineering",
    "product",
    "marketing",
    "sales",
    "finance",
    "operations",
    "design",
    "support",
    "revops",
    "data",
)
# Share of each department among users (same order as DEPARTMENTS).
DEPARTMENT_WEIGHTS: tuple[float, ...] = (24, 15, 11, 8, 6, 8, 7, 5, 4, 12)

TITLES: dict[str, tuple[str, ...]] = {
    "engineering": (
        "Software Engineer",
        "Senior Software Engineer",
        "Staff Engineer",
        "Engineering Manager",
        "VP Engineering",
        "CTO",
    ),
    "product": ("Product Manager", "Senior Product Manager", "Head of Product", "CPO"),
    "marketing": (
        "Marketing Manager",
        "Growth Marketer",
        "Content Lead",
        "Director of Marketing",
        "CMO",
    ),
    "sales": ("Account Executive", "Sales Manager", "Sales Engineer", "VP Sales"),
    "finance": ("Financial Analyst", "Controller", "Finance Manager", "CFO"),
    "operations": ("Operations Manager", "Business Operations Analyst", "COO"),
    "design": ("Product Designer", "Senior Designer", "Design Lead"),
    "support": ("Support Specialist", "Customer Success Manager", "Head of Support"),
    "revops": ("RevOps Analyst", "RevOps Manager", "Head of Revenue Operations"),
    "data": ("Data Analyst", "Data Scientist", "Analytics Engineer", "Head of Data"),
}

INDUSTRIES: tuple[str, ...] = (
    "software",
    "fintech",
    "ecommerce",
    "healthcare",
    "education",
    "media",
    "manufacturing",
    "consulting",
    "retail",
    "logistics",
    "nonprofit",
    "government",
)
INDUSTRY_WEIGHTS: tuple[float, ...] = (28, 10, 10, 8, 7, 7, 6, 6, 5, 6, 4, 3)
# How well an industry fits the product (a term of the upgrade hazard): positive buys more.
INDUSTRY_FIT: dict[str, float] = {
    "software": 0.5,
    "fintech": 0.4,
    "ecommerce": 0.2,
    "media": 0.2,
    "consulting": 0.1,
    "healthcare": 0.0,
    "manufacturing": -0.1,
    "retail": 0.0,
    "logistics": -0.1,
    "education": -0.3,
    "nonprofit": -0.4,
    "government": -0.4,
}

COUNTRIES: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "CA",
    "FR",
    "NL",
    "AU",
    "IN",
    "BR",
    "ES",
    "SE",
    "SG",
    "JP",
)
COUNTRY_WEIGHTS: tuple[float, ...] = (44, 10, 8, 6, 5, 4, 4, 5, 3, 3, 3, 3, 2)


# --- activity vocabulary ------------------------------------------------------------------

TRACK_EVENTS: tuple[str, ...] = (
    "Signed Up",
    "Logged In",
    "Report Created",
    "Dashboard Shared",
    "Comment Added",
    "Invite Sent",
    "Invite Accepted",
    "Plan Limit Reached",
    "Upgrade Clicked",
    "SSO Settings Viewed",
    "Audit Log Viewed",
    "API Key Created",
    "Integration Connected",
    "Export Created",
    "Support Ticket Created",
)
PAGES: tuple[str, ...] = ("Pricing", "Docs", "Home")
PAGE_PATHS: dict[str, str] = {"Pricing": "/pricing", "Docs": "/docs", "Home": "/"}

# Activity codes: track events first, then pages. A code is an index into ACTIVITY.
ACTIVITY: tuple[str, ...] = TRACK_EVENTS + PAGES
N_TRACK = len(TRACK_EVENTS)
CODE: dict[str, int] = {name: i for i, name in enumerate(ACTIVITY)}


def is_page(code: int) -> bool:
    """Codes past the track events are page views."""
    return code >= N_TRACK


# Background mix of everyday usage (relative weights). Signed Up, Invite Accepted, Plan Limit
# Reached and Upgrade Clicked are not background: the company simulation places them.
BASE_MIX: dict[str, float] = {
    "Logged In": 22,
    "Report Created": 19,
    "Home": 11,
    "Comment Added": 12,
    "Dashboard Shared": 8,
    "Export Created": 6,
    "Docs": 5,
    "Invite Sent": 0.8,
    "Integration Connected": 0.8,
    "API Key Created": 0.4,
    "Support Ticket Created": 0.5,
    "Pricing": 0.4,
    "Audit Log Viewed": 0.08,
    "SSO Settings Viewed": 0.04,
}
# Multipliers of BASE_MIX by department: engineers use the API and docs, finance exports, ...
DEPARTMENT_MIX: dict[str, dict[str, float]] = {
    "engineering": {
        "API Key Created": 6,
        "Integration Connected": 3,
        "Docs": 3,
        "Report Created": 0.7,
    },
    "data": {"Report Created": 1.5, "Export Created": 2, "API Key Created": 2},
    "marketing": {"Dashboard Shared": 1.6, "Report Created": 1.2},
    "sales": {"Dashboard Shared": 1.6, "Report Created": 1.1},
    "revops": {"Dashboard Shared": 1.5, "Report Created": 1.3, "Integration Connected": 2},
    "finance": {"Export Created": 2.5},
    "support": {"Support Ticket Created": 3, "Comment Added": 1.3},
    "design": {"Comment Added": 1.8, "Dashboard Shared": 1.2},
    "product": {"Comment Added": 1.3, "Report Created": 1.2},
    "operations": {"Export Created": 1.5},
}
ADMIN_MIX: dict[str, float] = {
    "Integration Connected": 2,
    "Audit Log Viewed": 3,
    "SSO Settings Viewed": 2,
    "Invite Sent": 3,
}


def _props(**kw: object) -> str:
    """A properties object as compact JSON text (sorted keys, so output is stable)."""
    return orjson.dumps(kw, option=orjson.OPT_SORT_KEYS).decode()


def _page_props(name: str, referrer: str) -> str:
    path = PAGE_PATHS[name]
    props: dict[str, object] = {"path": path, "title": f"{name} | {PRODUCT}", "url": SITE + path}
    if referrer:
        props["referrer"] = referrer
    return _props(**props)


_REFERRERS = (
    "",
    "https://www.google.com/",
    "https://www.linkedin.com/",
    "https://news.ycombinator.com/",
)

# Property variants of each activity: (properties JSON, relative weight). Background events pick
# one by weight; the simulation asks for specific ones by their key (see PROP_KEY).
_VARIANTS: dict[str, list[tuple[str, float, str]]] = {
    "Signed Up": [
        (_props(method=m, invited=inv), w, f"{m}:{inv}")
        for m, w0 in (("google", 5), ("email", 4), ("sso", 1))
        for inv, w in ((True, w0), (False, w0))
    ],
    "Logged In": [
        (_props(method=m), w, m) for m, w in (("password", 5), ("google", 4), ("sso", 1))
    ],
    "Report Created": [
        (_props(template=t, source=s), w * ws, f"{t}:{s}")
        for t, w in (("blank", 4), ("funnel", 3), ("retention", 2), ("revenue", 2), ("cohort", 1))
        for s, ws in (("editor", 3), ("template", 1))
    ],
    "Dashboard Shared": [
        (_props(shared_with=s, recipients=r), w / r, f"{s}:{r}")
        for s, w in (("team", 5), ("link", 3), ("external", 1))
        for r in (1, 2, 3, 5, 8)
    ],
    "Comment Added": [
        (_props(on=o, mentions=m), w, f"{o}:{m}")
        for o, w in (("report", 3), ("dashboard", 2))
        for m in (0, 1, 2)
    ],
    "Invite Sent": [(_props(role=r), w, r) for r, w in (("member", 9), ("admin", 1))],
    "Invite Accepted": [(_props(role=r), w, r) for r, w in (("member", 9), ("admin", 1))],
    "Plan Limit Reached": [
        (_props(limit=lim, plan=p), 1.0, f"{lim}:{p}")
        for lim in ("seats", "reports", "dashboards")
        for p in ("free", "team", "business")
    ],
    "Upgrade Clicked": [
        (_props(plan=p, location=loc), 1.0, f"{p}:{loc}")
        for p in ("team", "business", "enterprise")
        for loc in ("banner", "settings", "limit_modal", "pricing_page")
    ],
    "SSO Settings Viewed": [(_props(provider=p), 1.0, p) for p in ("okta", "azure_ad", "google")],
    "Audit Log Viewed": [(_props(range=r), 1.0, r) for r in ("7d", "30d", "90d")],
    "API Key Created": [(_props(scope=s), w, s) for s, w in (("read", 3), ("write", 1))],
    "Integration Connected": [
        (_props(integration=i), w, i)
        for i, w in (
            ("slack", 5),
            ("google_sheets", 3),
            ("salesforce", 2),
            ("hubspot", 2),
            ("snowflake", 1),
            ("bigquery", 1),
        )
    ],
    "Export Created": [(_props(format=f), w, f) for f, w in (("csv", 5), ("pdf", 3), ("xlsx", 2))],
    "Support Ticket Created": [
        (_props(category=c, priority=p), w * wp, f"{c}:{p}")
        for c, w in (("billing", 2), ("bug", 3), ("how_to", 4), ("sso", 1))
        for p, wp in (("normal", 4), ("high", 1))
    ],
    **{
        page: [
            (_page_props(page, r), w, r or "direct")
            for r, w in zip(_REFERRERS, (6, 2, 1, 1), strict=True)
        ]
        for page in PAGES
    },
}

# The flat catalog of properties texts; each activity owns a contiguous range of it.
PROPS: tuple[str, ...] = tuple(text for name in ACTIVITY for text, _, _ in _VARIANTS[name])
PROP_RANGE: dict[int, tuple[int, int]] = {}
PROP_WEIGHTS: dict[int, tuple[float, ...]] = {}
PROP_KEY: dict[tuple[str, str], int] = {}
_start = 0
for _code, _name in enumerate(ACTIVITY):
    _vs = _VARIANTS[_name]
    PROP_RANGE[_code] = (_start, _start + len(_vs))
    PROP_WEIGHTS[_code] = tuple(v[1] for v in _vs)
    for _i, _variant in enumerate(_vs):
        PROP_KEY[(_name, _variant[2])] = _start + _i
    _start += len(_vs)


def prop(name: str, key: str) -> int:
    """The catalog index of a property variant: ``prop("Upgrade Clicked", "team:banner")``."""
    return PROP_KEY[(name, key)]

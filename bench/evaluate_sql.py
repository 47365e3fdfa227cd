"""The ceiling for the evaluation benchmark: hand-written DuckDB queries, one statement each.

They compute what the engine computes for the 24 benchmark definitions (the template's four
plus ``definitions_custom.yml``), written the way someone who knows the data would write
them by hand: one pass over the activity per level with ``FILTER`` aggregates, traits read
once per entity, scores and bands as ``CASE`` sums (``_ctes``: one wide row per user,
``usr``, and per account, ``acc``). Then:

- ``full_sql``: the engine's whole result as ONE wide table, a row per user and per
  account: score points and bands, the account's stage, per PQL its touch (NULL: no
  match) and each leaf's held flag (``PQLS``: the leaves in document order), and the value
  behind every leaf once per feature. The sentences are left out (Python formatting);
- ``matches_sql``: "matches only", the ``(pql, entity, touch)`` of every match (every PQL
  a ``WHERE`` over the wide rows, ``UNION ALL``), the previous reference.

They read the same snapshot tables the engine uploads (``map``, ``members``, ``users``,
``accounts``: see ``engine/snapshot.py``), so identity is timed once, apart from both.
They are not general: they know the benchmark's data (plan is always a string, employees a
number, ``mention`` a boolean), which is what makes them the fastest queries. Change them
with ``definitions_custom.yml``; the benchmark checks both against the engine's result.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta


def _lit(dt: datetime) -> str:
    return f"TIMESTAMP '{dt.replace(tzinfo=None).isoformat(sep=' ')}'"


def _ctes(as_of: datetime, tables: dict[str, str]) -> str:
    """The shared part: one wide row per user (``usr``) and per account (``acc``)."""
    now = _lit(as_of)
    d7, d14, d30 = (_lit(as_of - timedelta(days=d)) for d in (7, 14, 30))
    t = tables
    return f"""WITH
act AS (
    SELECT coalesce(m.map_user, coalesce(e.user_id, e.anonymous_id)) AS u,
           e.context_group_id AS cg, e.event AS ev, e.ts,
           -- the one property each event's definitions read, parsed once per row
           CASE e.event
               WHEN 'Report Created' THEN TRY_CAST(e.properties->>'$.rows' AS DOUBLE)
               WHEN 'Export Created' THEN TRY_CAST(e.properties->>'$.rows' AS DOUBLE)
               WHEN 'Support Ticket Created' THEN TRY_CAST(e.properties->>'$.minutes' AS DOUBLE)
           END AS num,
           CASE e.event
               WHEN 'Upgrade Clicked' THEN e.properties->>'$.plan'
               WHEN 'Export Created' THEN e.properties->>'$.format'
               WHEN 'Docs' THEN e.properties->>'$.section'
               WHEN 'Comment Added' THEN e.properties->>'$.mention'
               WHEN 'Dashboard Shared' THEN e.properties->>'$.channel'
               WHEN 'Support Ticket Created' THEN e.properties->>'$.priority'
           END AS tag
    FROM events e
    LEFT JOIN {t["map"]} m ON m.raw_id = coalesce(e.user_id, e.anonymous_id)
    WHERE e.ts <= {now} AND e.type IN ('page', 'screen', 'track')
),
uf AS (
    SELECT u,
        max(ts) FILTER (WHERE ev = 'Logged In') AS login_last,
        min(ts) FILTER (WHERE ev = 'Logged In') AS login_first,
        count(*) FILTER (WHERE ev = 'Report Created' AND ts > {d14}) AS reports14,
        count(*) FILTER (WHERE ev = 'Report Created' AND ts > {d30}) AS reports30,
        avg(num)
            FILTER (WHERE ev = 'Report Created' AND ts > {d30}) AS report_rows_avg30,
        count(*) FILTER (WHERE ev = 'Dashboard Shared' AND ts > {d30}) AS shared30,
        count(*) FILTER (WHERE ev = 'Invite Sent' AND ts > {d30}) AS invites30,
        count(*) FILTER (WHERE ev = 'Integration Connected' AND ts > {d30}) AS integrations30,
        count(*) FILTER (WHERE ev = 'Pricing' AND ts > {d7}) AS pricing7,
        count(*) FILTER (WHERE ev = 'Upgrade Clicked' AND ts > {d14}) AS upgrade14,
        count(*) FILTER (WHERE ev = 'Upgrade Clicked' AND ts > {d30}
                         AND tag = 'enterprise') AS upgrade_ent30,
        count(*) FILTER (WHERE ev = 'Plan Limit Reached' AND ts > {d14}) AS limit14,
        coalesce(sum(num)
            FILTER (WHERE ev = 'Export Created' AND ts > {d30}), 0) AS export_rows30,
        count(*) FILTER (WHERE ev = 'Export Created' AND ts > {d14}
                         AND tag = 'pdf') AS pdf14,
        count(*) FILTER (WHERE ev = 'Docs' AND ts > {d30} AND tag = 'sso') AS sso30,
        count(*) FILTER (WHERE ev = 'API Key Created' AND ts > {d30}) AS apikeys30,
        max(num)
            FILTER (WHERE ev = 'Support Ticket Created' AND ts > {d30}) AS ticket_max30
    FROM act
    WHERE ev IN ('Logged In', 'Report Created', 'Dashboard Shared', 'Invite Sent',
                 'Integration Connected', 'Pricing', 'Upgrade Clicked', 'Plan Limit Reached',
                 'Export Created', 'Docs', 'API Key Created', 'Support Ticket Created')
    GROUP BY u
),
ud AS (
    SELECT u, count(*) AS login_days30, count(*) FILTER (WHERE last_ts > {d14}) AS login_days14
    FROM (SELECT u, ts::DATE AS d, max(ts) AS last_ts FROM act
          WHERE ev = 'Logged In' AND ts > {d30} GROUP BY u, d)
    GROUP BY u
),
att AS (
    SELECT cg AS a, u, ev, ts, tag FROM act WHERE cg IS NOT NULL
    UNION ALL
    SELECT mm.m_account AS a, act.u, act.ev, act.ts, act.tag
    FROM act JOIN {t["members"]} mm ON mm.m_user = act.u
    WHERE act.cg IS NULL
),
dept AS (
    SELECT user_id, u_traits->>'$.department' AS dept FROM {t["users"]}
),
au AS (
    SELECT a, u,
        max(ts) AS last_ts,
        max(ts) FILTER (WHERE ev = 'Comment Added') AS comment_last,
        max(ts) FILTER (WHERE ev = 'Dashboard Shared') AS share_last,
        max(ts) FILTER (WHERE ev = 'Integration Connected') AS integration_last,
        max(ts) FILTER (WHERE ev = 'Signed Up') AS signup_last,
        count(*) FILTER (WHERE ev = 'Comment Added' AND ts > {d7}
                         AND tag = 'true') AS mentions7,
        count(*) FILTER (WHERE ev = 'Invite Sent' AND ts > {d14}) AS invites14,
        count(*) FILTER (WHERE ev = 'Invite Accepted' AND ts > {d14}) AS accepted14,
        count(*) FILTER (WHERE ev = 'Dashboard Shared' AND ts > {d30}
                         AND tag = 'slack') AS slack30,
        count(*) FILTER (WHERE ev = 'SSO Settings Viewed' AND ts > {d30}) AS sso30,
        count(*) FILTER (WHERE ev = 'Audit Log Viewed' AND ts > {d30}) AS audit30,
        count(*) FILTER (WHERE ev = 'API Key Created' AND ts > {d30}) AS apikeys30,
        count(*) FILTER (WHERE ev = 'Integration Connected' AND ts > {d30}) AS integrations30,
        count(*) FILTER (WHERE ev = 'Support Ticket Created' AND ts > {d30}
                         AND tag = 'high') AS urgent30,
        count(*) FILTER (WHERE ev = 'Upgrade Clicked' AND ts > {d30}) AS upgrade30
    FROM att GROUP BY a, u
),
af AS (
    -- user counts are of members (a guest's tagged events count in the sums only)
    SELECT au.a,
        count(*) FILTER (WHERE last_ts > {d7} AND mb.m_user IS NOT NULL) AS active7,
        count(*) FILTER (WHERE last_ts > {d14} AND mb.m_user IS NOT NULL) AS active14,
        count(*) FILTER (WHERE last_ts > {d30} AND mb.m_user IS NOT NULL) AS active30,
        count(DISTINCT dept.dept)
            FILTER (WHERE last_ts > {d30} AND mb.m_user IS NOT NULL) AS depts30,
        count(*) FILTER (WHERE comment_last > {d14} AND mb.m_user IS NOT NULL) AS commenters14,
        count(*) FILTER (WHERE share_last > {d14} AND mb.m_user IS NOT NULL) AS sharers14,
        count(*)
            FILTER (WHERE integration_last > {d30} AND mb.m_user IS NOT NULL) AS integrators30,
        count(*) FILTER (WHERE signup_last > {d30} AND mb.m_user IS NOT NULL) AS signups30,
        sum(mentions7) AS mentions7, sum(invites14) AS invites14,
        sum(accepted14) AS accepted14, sum(slack30) AS slack30, sum(sso30) AS sso30,
        sum(audit30) AS audit30, sum(apikeys30) AS apikeys30,
        sum(integrations30) AS integrations30, sum(urgent30) AS urgent30,
        sum(upgrade30) AS upgrade30
    FROM au LEFT JOIN dept ON dept.user_id = au.u
    LEFT JOIN {t["members"]} mb ON mb.m_account = au.a AND mb.m_user = au.u
    GROUP BY au.a
),
ad AS (
    SELECT a, count(*) AS days30, count(*) FILTER (WHERE last_ts > {d14}) AS days14
    FROM (SELECT a, ts::DATE AS d, max(ts) AS last_ts FROM att WHERE ts > {d30} GROUP BY a, d)
    GROUP BY a
),
mf AS (
    SELECT mm.m_account AS a, count(DISTINCT mm.m_user) AS members,
           count(DISTINCT dept.dept) AS depts
    FROM {t["members"]} mm LEFT JOIN dept ON dept.user_id = mm.m_user
    GROUP BY mm.m_account
),
acc0 AS (
    SELECT x.account_id,
        x.a_traits->>'$.plan' AS plan,
        x.a_traits->>'$.industry' AS industry,
        x.a_traits->>'$.country' AS country,
        TRY_CAST(x.a_traits->>'$.employees' AS DOUBLE) AS employees,
        TRY_CAST(x.a_traits->>'$.seats' AS DOUBLE) AS seats,
        coalesce(mf.members, 0) AS members,
        coalesce(mf.depts, 0) AS depts,
        coalesce(af.active7, 0) AS active7, coalesce(af.active14, 0) AS active14,
        coalesce(af.active30, 0) AS active30, coalesce(ad.days14, 0) AS days14,
        coalesce(ad.days30, 0) AS days30, coalesce(af.depts30, 0) AS depts30,
        coalesce(af.commenters14, 0) AS commenters14, coalesce(af.mentions7, 0) AS mentions7,
        coalesce(af.invites14, 0) AS invites14, coalesce(af.accepted14, 0) AS accepted14,
        coalesce(af.sharers14, 0) AS sharers14, coalesce(af.slack30, 0) AS slack30,
        coalesce(af.sso30, 0) AS sso30, coalesce(af.audit30, 0) AS audit30,
        coalesce(af.apikeys30, 0) AS apikeys30,
        coalesce(af.integrations30, 0) AS integrations30,
        coalesce(af.integrators30, 0) AS integrators30,
        coalesce(af.signups30, 0) AS signups30, coalesce(af.urgent30, 0) AS urgent30,
        coalesce(af.upgrade30, 0) AS upgrade30
    FROM {t["accounts"]} x
    LEFT JOIN af ON af.a = x.account_id
    LEFT JOIN ad ON ad.a = x.account_id
    LEFT JOIN mf ON mf.a = x.account_id
),
acc1 AS (
    SELECT *,
        CASE WHEN seats > 0 THEN floor(members * 10000.0 / seats + 0.5) / 100.0 END AS seats_pct,
        (CASE WHEN employees BETWEEN 50 AND 199 THEN 15 ELSE 0 END
         + CASE WHEN employees BETWEEN 200 AND 999 THEN 30 ELSE 0 END
         + CASE WHEN employees >= 1000 THEN 45 ELSE 0 END
         + CASE WHEN industry IN ('software', 'fintech', 'saas', 'technology') THEN 25 ELSE 0 END
         + CASE WHEN country IN ('US', 'CA', 'GB', 'DE', 'FR', 'NL', 'AU') THEN 15 ELSE 0 END
        ) AS fit
    FROM acc0
),
acc AS (
    SELECT *,
        CASE WHEN fit >= 70 THEN 'high' WHEN fit >= 40 THEN 'medium' ELSE 'low' END AS fit_band,
        (CASE WHEN active7 >= 3 THEN 20 ELSE 0 END + CASE WHEN active7 >= 10 THEN 20 ELSE 0 END
         + CASE WHEN days14 >= 8 THEN 20 ELSE 0 END
         + CASE WHEN commenters14 >= 3 THEN 20 ELSE 0 END
         + CASE WHEN seats_pct >= 80 THEN 20 ELSE 0 END
         + CASE WHEN depts30 >= 3 THEN 20 ELSE 0 END) AS engagement
    FROM acc1
),
usr AS (
    SELECT x.user_id,
        x.u_traits->>'$.role' AS role,
        x.u_traits->>'$.department' AS department,
        x.u_traits->>'$.email' AS email,
        x.u_traits->>'$.title' AS title,
        a.account_id AS a_id, a.plan AS a_plan, a.employees AS a_employees,
        a.fit AS a_fit, a.fit_band AS a_fit_band,
        coalesce(ud.login_days14, 0) AS login_days14,
        coalesce(ud.login_days30, 0) AS login_days30,
        uf.login_last, uf.login_first,
        coalesce(uf.reports14, 0) AS reports14, coalesce(uf.reports30, 0) AS reports30,
        uf.report_rows_avg30,
        coalesce(uf.shared30, 0) AS shared30, coalesce(uf.invites30, 0) AS invites30,
        coalesce(uf.integrations30, 0) AS integrations30,
        coalesce(uf.pricing7, 0) AS pricing7, coalesce(uf.upgrade14, 0) AS upgrade14,
        coalesce(uf.upgrade_ent30, 0) AS upgrade_ent30, coalesce(uf.limit14, 0) AS limit14,
        coalesce(uf.export_rows30, 0) AS export_rows30, coalesce(uf.pdf14, 0) AS pdf14,
        coalesce(uf.sso30, 0) AS sso30, coalesce(uf.apikeys30, 0) AS apikeys30,
        uf.ticket_max30,
        (CASE WHEN coalesce(ud.login_days14, 0) >= 4 THEN 10 ELSE 0 END
         + CASE WHEN coalesce(uf.reports14, 0) >= 5 THEN 20 ELSE 0 END
         + CASE WHEN coalesce(uf.shared30, 0) >= 1 THEN 15 ELSE 0 END
         + CASE WHEN coalesce(uf.invites30, 0) >= 1 THEN 15 ELSE 0 END
         + CASE WHEN coalesce(uf.integrations30, 0) >= 1 THEN 10 ELSE 0 END
         + CASE WHEN coalesce(uf.pricing7, 0) >= 1 THEN 20 ELSE 0 END
         + CASE WHEN uf.login_last < {d14} THEN -20 ELSE 0 END) AS usage
    FROM {t["users"]} x
    LEFT JOIN uf ON uf.u = x.user_id
    LEFT JOIN ud ON ud.u = x.user_id
    LEFT JOIN acc a ON a.account_id = x.primary_account
)
"""


def matches_sql(as_of: datetime, tables: dict[str, str]) -> str:
    """The "matches only" query: every ``(pql, entity, touch)``; ``tables`` maps
    map/members/users/accounts to the uploaded names."""
    d21, d30 = (_lit(as_of - timedelta(days=d)) for d in (21, 30))
    return (
        _ctes(as_of, tables)
        + f"""SELECT 'free_to_paid' AS pql, user_id AS entity,
       CASE WHEN a_fit_band = 'high' THEN 'high' WHEN a_fit_band = 'medium' THEN 'low'
            ELSE 'none' END AS touch
FROM usr WHERE a_plan = 'free'
    AND (upgrade14 >= 1 OR pricing7 >= 2 OR limit14 >= 1 OR reports14 >= 5)
UNION ALL
SELECT 'seat_expansion', account_id, 'low' FROM acc
WHERE plan IN ('team', 'business') AND seats_pct >= 80
    AND (invites14 >= 3 OR accepted14 >= 2 OR sharers14 >= 3 OR commenters14 >= 3)
UNION ALL
SELECT 'enterprise_conversion', account_id, 'high' FROM acc
WHERE plan IN ('free', 'team', 'business') AND employees >= 500 AND active14 >= 10
    AND (sso30 >= 1 OR audit30 >= 1 OR fit_band = 'high')
UNION ALL
SELECT 'enterprise_expansion', account_id, 'high' FROM acc
WHERE plan = 'enterprise'
    AND (depts30 >= 4 OR apikeys30 >= 3 OR integrations30 >= 2 OR signups30 >= 10)
UNION ALL
SELECT 'power_user', user_id, CASE WHEN a_fit >= 70 THEN 'high' ELSE 'low' END FROM usr
WHERE usage >= 60 AND reports30 >= 20
UNION ALL
SELECT 'heavy_exporter', user_id, 'high' FROM usr WHERE export_rows30 >= 300000
UNION ALL
SELECT 'pdf_exporter', user_id, 'high' FROM usr WHERE pdf14 >= 3
UNION ALL
SELECT 'big_report_admin', user_id, 'high' FROM usr
WHERE role = 'admin' AND report_rows_avg30 >= 3000
UNION ALL
SELECT 'sso_docs_reader', user_id, 'high' FROM usr WHERE sso30 >= 2 AND a_employees >= 200
UNION ALL
SELECT 'daily_habit', user_id, 'high' FROM usr WHERE login_days30 >= 15
UNION ALL
SELECT 'new_and_active', user_id, 'high' FROM usr WHERE login_first > {d30} AND reports30 >= 3
UNION ALL
SELECT 'dormant_admin', user_id, 'none' FROM usr WHERE role = 'admin' AND login_last < {d21}
UNION ALL
SELECT 'churn_risk', account_id, 'high' FROM acc
WHERE plan IN ('team', 'business') AND members >= 3 AND active14 <= 1
UNION ALL
SELECT 'support_heavy', account_id, 'high' FROM acc WHERE urgent30 >= 3
UNION ALL
SELECT 'integration_hub', account_id, 'high' FROM acc
WHERE industry IN ('software', 'saas') AND integrators30 >= 2
UNION ALL
SELECT 'slack_sharers', account_id, 'high' FROM acc WHERE slack30 >= 5
UNION ALL
SELECT 'multi_department_free', account_id, 'high' FROM acc WHERE plan = 'free' AND depts >= 5
UNION ALL
SELECT 'seat_crunch', account_id, 'high' FROM acc WHERE seats_pct >= 95 AND days30 >= 20
UNION ALL
SELECT 'engineering_led', user_id, 'high' FROM usr
WHERE department IN ('engineering', 'data') AND a_plan IN ('free', 'team') AND apikeys30 >= 1
UNION ALL
SELECT 'senior_sharer', user_id, 'high' FROM usr
WHERE ends_with(email, '.example') AND regexp_matches(title, '^(VP|Director)')
    AND shared30 >= 2
UNION ALL
SELECT 'enterprise_intent', user_id, CASE WHEN a_employees >= 1000 THEN 'high' ELSE 'low' END
FROM usr WHERE upgrade_ent30 >= 1 AND a_fit >= 40
UNION ALL
SELECT 'long_tickets', user_id, 'high' FROM usr
WHERE ticket_max30 >= 150 AND NOT coalesce(a_plan = 'enterprise', false)
UNION ALL
SELECT 'big_free_no_upgrade', account_id, 'high' FROM acc
WHERE plan = 'free' AND employees >= 1000 AND active30 >= 5 AND upgrade30 = 0
UNION ALL
SELECT 'engaged_account', account_id,
       CASE WHEN fit_band = 'high' THEN 'high' ELSE 'low' END FROM acc
WHERE engagement >= 60 AND fit_band IN ('high', 'medium') AND mentions7 >= 10
"""
    )


# --------------------------------------------------------------------------- the full result

# Every PQL of the benchmark: its level, its leaves in document order (the ``usr``/``acc``
# column whose value the evidence shows, and the leaf's held test over that row), its
# match over the held flags ``h0``, ``h1``... and its touch. Written by hand from
# ``definitions_custom.yml`` and the template, like the "matches only" query's WHERE
# clauses; ``{d21}`` and ``{d30}`` are the window bounds.
Leaf = tuple[str, str]
PQLS: dict[str, tuple[str, list[Leaf], str, str]] = {
    "free_to_paid": (
        "user",
        [
            ("a_plan", "a_plan = 'free'"),
            ("upgrade14", "upgrade14 >= 1"),
            ("pricing7", "pricing7 >= 2"),
            ("limit14", "limit14 >= 1"),
            ("reports14", "reports14 >= 5"),
        ],
        "h0 AND (h1 OR h2 OR h3 OR h4)",
        "CASE WHEN a_fit_band = 'high' THEN 'high' WHEN a_fit_band = 'medium' THEN 'low'"
        " ELSE 'none' END",
    ),
    "power_user": (
        "user",
        [("usage_band", "usage >= 60"), ("reports30", "reports30 >= 20")],
        "h0 AND h1",
        "CASE WHEN a_fit >= 70 THEN 'high' ELSE 'low' END",
    ),
    "heavy_exporter": ("user", [("export_rows30", "export_rows30 >= 300000")], "h0", "'high'"),
    "pdf_exporter": ("user", [("pdf14", "pdf14 >= 3")], "h0", "'high'"),
    "big_report_admin": (
        "user",
        [("role", "role = 'admin'"), ("report_rows_avg30", "report_rows_avg30 >= 3000")],
        "h0 AND h1",
        "'high'",
    ),
    "sso_docs_reader": (
        "user",
        [("sso30", "sso30 >= 2"), ("a_employees", "a_employees >= 200")],
        "h0 AND h1",
        "'high'",
    ),
    "daily_habit": ("user", [("login_days30", "login_days30 >= 15")], "h0", "'high'"),
    "new_and_active": (
        "user",
        [("login_first", "login_first > {d30}"), ("reports30", "reports30 >= 3")],
        "h0 AND h1",
        "'high'",
    ),
    "dormant_admin": (
        "user",
        [("role", "role = 'admin'"), ("login_last", "login_last < {d21}")],
        "h0 AND h1",
        "'none'",
    ),
    "engineering_led": (
        "user",
        [
            ("department", "department IN ('engineering', 'data')"),
            ("a_plan", "a_plan IN ('free', 'team')"),
            ("apikeys30", "apikeys30 >= 1"),
        ],
        "h0 AND h1 AND h2",
        "'high'",
    ),
    "senior_sharer": (
        "user",
        [
            ("email", "ends_with(email, '.example')"),
            ("title", "regexp_matches(title, '^(VP|Director)')"),
            ("shared30", "shared30 >= 2"),
        ],
        "h0 AND h1 AND h2",
        "'high'",
    ),
    "enterprise_intent": (
        "user",
        [("upgrade_ent30", "upgrade_ent30 >= 1"), ("a_fit", "a_fit >= 40")],
        "h0 AND h1",
        "CASE WHEN a_employees >= 1000 THEN 'high' ELSE 'low' END",
    ),
    "long_tickets": (
        "user",
        [("ticket_max30", "ticket_max30 >= 150"), ("a_plan", "a_plan = 'enterprise'")],
        "h0 AND NOT h1",
        "'high'",
    ),
    "seat_expansion": (
        "account",
        [
            ("plan", "plan IN ('team', 'business')"),
            ("seats_pct", "seats_pct >= 80"),
            ("invites14", "invites14 >= 3"),
            ("accepted14", "accepted14 >= 2"),
            ("sharers14", "sharers14 >= 3"),
            ("commenters14", "commenters14 >= 3"),
        ],
        "h0 AND h1 AND (h2 OR h3 OR h4 OR h5)",
        "'low'",
    ),
    "enterprise_conversion": (
        "account",
        [
            ("plan", "plan IN ('free', 'team', 'business')"),
            ("employees", "employees >= 500"),
            ("active14", "active14 >= 10"),
            ("sso30", "sso30 >= 1"),
            ("audit30", "audit30 >= 1"),
            ("fit_band", "fit_band = 'high'"),
        ],
        "h0 AND h1 AND h2 AND (h3 OR h4 OR h5)",
        "'high'",
    ),
    "enterprise_expansion": (
        "account",
        [
            ("plan", "plan = 'enterprise'"),
            ("depts30", "depts30 >= 4"),
            ("apikeys30", "apikeys30 >= 3"),
            ("integrations30", "integrations30 >= 2"),
            ("signups30", "signups30 >= 10"),
        ],
        "h0 AND (h1 OR h2 OR h3 OR h4)",
        "'high'",
    ),
    "churn_risk": (
        "account",
        [
            ("plan", "plan IN ('team', 'business')"),
            ("members", "members >= 3"),
            ("active14", "active14 <= 1"),
        ],
        "h0 AND h1 AND h2",
        "'high'",
    ),
    "support_heavy": ("account", [("urgent30", "urgent30 >= 3")], "h0", "'high'"),
    "integration_hub": (
        "account",
        [("industry", "industry IN ('software', 'saas')"), ("integrators30", "integrators30 >= 2")],
        "h0 AND h1",
        "'high'",
    ),
    "slack_sharers": ("account", [("slack30", "slack30 >= 5")], "h0", "'high'"),
    "multi_department_free": (
        "account",
        [("plan", "plan = 'free'"), ("depts", "depts >= 5")],
        "h0 AND h1",
        "'high'",
    ),
    "seat_crunch": (
        "account",
        [("seats_pct", "seats_pct >= 95"), ("days30", "days30 >= 20")],
        "h0 AND h1",
        "'high'",
    ),
    "big_free_no_upgrade": (
        "account",
        [
            ("plan", "plan = 'free'"),
            ("employees", "employees >= 1000"),
            ("active30", "active30 >= 5"),
            ("upgrade30", "upgrade30 >= 1"),
        ],
        "h0 AND h1 AND h2 AND NOT h3",
        "'high'",
    ),
    "engaged_account": (
        "account",
        [
            ("engagement", "engagement >= 60"),
            ("fit_band", "fit_band IN ('high', 'medium')"),
            ("mentions7", "mentions7 >= 10"),
        ],
        "h0 AND h1 AND h2",
        "CASE WHEN fit_band = 'high' THEN 'high' ELSE 'low' END",
    ),
}
# The entity columns of each level's rows (the rest is evidence).
USER_HEAD = "'user' AS level, user_id AS id, usage,"
USER_HEAD += " CASE WHEN usage >= 60 THEN 'high' WHEN usage >= 30 THEN 'medium' ELSE 'low' END"
USER_HEAD += " AS usage_band"
ACCOUNT_HEAD = """'account' AS level, account_id AS id, fit, fit_band, engagement,
    CASE WHEN engagement >= 60 THEN 'high' WHEN engagement >= 30 THEN 'medium' ELSE 'low' END
        AS engagement_band,
    CASE WHEN plan = 'enterprise' THEN 'enterprise' WHEN plan = 'business' THEN 'business'
         WHEN plan = 'team' THEN 'team'
         WHEN plan = 'free' AND engagement >= 30 AND fit >= 40 THEN 'pqa'
         WHEN plan = 'free' THEN 'free' END AS stage"""


# Columns of the head that leaves also show (not repeated as ``uv__``/``av__`` columns).
HEAD_COLUMNS = {"user": {"usage", "usage_band"}, "account": {"fit", "fit_band", "engagement"}}


def value_column(level: str, column: str) -> str:
    """The result column holding ``column`` of a ``level`` row (``uv__x``, ``av__x``)."""
    return column if column in HEAD_COLUMNS[level] else f"{level[0]}v__{column}"


def _level_select(level: str, head: str, source: str, bounds: dict[str, str]) -> str:
    pqls = [(k, leaves, m, t) for k, (lv, leaves, m, t) in PQLS.items() if lv == level]
    values = dict.fromkeys(
        col for _, leaves, _, _ in pqls for col, _ in leaves if col not in HEAD_COLUMNS[level]
    )
    cols = [head] + [f"{c} AS {value_column(level, c)}" for c in values]
    for key, leaves, match, touch in pqls:
        for i, (_, held) in enumerate(leaves):
            for name, bound in bounds.items():
                held = held.replace("{" + name + "}", bound)
            cols.append(f"coalesce({held}, false) AS {key}__h{i}")
        match = re.sub(r"\bh(\d+)\b", rf"{key}__h\1", match)
        cols.append(f"CASE WHEN {match} THEN {touch} END AS {key}__t")
    return "SELECT " + ",\n    ".join(cols) + f"\nFROM {source}"


def full_sql(as_of: datetime, tables: dict[str, str]) -> str:
    """The full result in ONE wide table: a row per user and per account (``level``,
    ``id``), with the scores' points and bands, the account's ``stage``, the value behind
    every leaf (``uv__<feature>``/``av__<feature>``, once per feature), and per PQL each
    leaf's held flag (``<pql>__h<i>``) and the touch (``<pql>__t``, NULL: no match)."""
    bounds = {"d21": _lit(as_of - timedelta(days=21)), "d30": _lit(as_of - timedelta(days=30))}
    users = _level_select("user", USER_HEAD, "usr", bounds)
    accounts = _level_select("account", ACCOUNT_HEAD, "acc", bounds)
    return _ctes(as_of, tables) + users + "\nUNION ALL BY NAME\n" + accounts + "\n"

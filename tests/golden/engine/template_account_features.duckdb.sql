WITH "t17" AS (
  SELECT
    (
      "t16"."tagged" IS NULL
    ) OR (
      "t4"."m_account" IS NOT NULL
    ) AS "member",
    "t16"."account",
    "t16"."user",
    "t16"."event",
    "t16"."ts"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        COALESCE("t13"."cgid", "t5"."m_account") AS "account",
        "t13"."cgid" AS "tagged",
        "t13"."user",
        "t13"."event",
        "t13"."ts"
      FROM (
        SELECT
          "t9"."user",
          "t9"."cgid",
          "t9"."event",
          "t9"."ts",
          CASE WHEN "t9"."cgid" IS NULL THEN "t9"."user" ELSE CAST(NULL AS TEXT) END AS "via_user"
        FROM (
          SELECT
            COALESCE("t6"."map_user", "t8"."who") AS "user",
            "t8"."cgid",
            "t8"."event",
            "t8"."ts"
          FROM (
            SELECT
              COALESCE("t2"."user_id", "t2"."anonymous_id") AS "who",
              "t2"."context_group_id" AS "cgid",
              "t2"."event",
              "t2"."ts"
            FROM "events" AS "t2"
            WHERE
              "t2"."ts" <= MAKE_TIMESTAMP(2026, 3, 1, 0, 0, 0.0)
              AND "t2"."type" IN ('page', 'screen', 'track')
          ) AS "t8"
          LEFT OUTER JOIN "snap_map" AS "t6"
            ON "t8"."who" = "t6"."raw_id"
        ) AS "t9"
      ) AS "t13"
      LEFT OUTER JOIN "snap_members" AS "t5"
        ON "t13"."via_user" = "t5"."m_user"
    ) AS "t14"
    WHERE
      "t14"."account" IS NOT NULL
  ) AS "t16"
  LEFT OUTER JOIN "snap_members" AS "t4"
    ON "t16"."tagged" = "t4"."m_account" AND "t16"."user" = "t4"."m_user"
)
SELECT
  "t29"."f7",
  "t29"."f9",
  "t29"."f11",
  "t29"."f16",
  "t29"."f17",
  "t29"."f22",
  "t29"."f14",
  "t29"."f15",
  "t29"."f18",
  "t29"."f19",
  "t29"."f20",
  "t29"."f21",
  "t23"."f8",
  COALESCE("t29"."key", "t23"."part_key") AS "key"
FROM (
  SELECT
    "t27"."key",
    COUNT("t27"."user") FILTER(WHERE
      "t27"."g_f7" AND "t27"."member") AS "f7",
    COUNT("t27"."user") FILTER(WHERE
      "t27"."g_f9" AND "t27"."member") AS "f9",
    COUNT(DISTINCT "t27"."dv_f11") FILTER(WHERE
      "t27"."g_f11" AND "t27"."member") AS "f11",
    COUNT("t27"."user") FILTER(WHERE
      "t27"."g_f16" AND "t27"."member") AS "f16",
    COUNT("t27"."user") FILTER(WHERE
      "t27"."g_f17" AND "t27"."member") AS "f17",
    COUNT("t27"."user") FILTER(WHERE
      "t27"."g_f22" AND "t27"."member") AS "f22",
    SUM("t27"."q_f14") AS "f14",
    SUM("t27"."q_f15") AS "f15",
    SUM("t27"."q_f18") AS "f18",
    SUM("t27"."q_f19") AS "f19",
    SUM("t27"."q_f20") AS "f20",
    SUM("t27"."q_f21") AS "f21"
  FROM (
    SELECT
      "t26"."key",
      "t26"."user",
      "t26"."g_f7",
      "t26"."g_f9",
      "t26"."g_f11",
      "t26"."g_f16",
      "t26"."g_f17",
      "t26"."g_f22",
      "t26"."q_f14",
      "t26"."q_f15",
      "t26"."q_f18",
      "t26"."q_f19",
      "t26"."q_f20",
      "t26"."q_f21",
      "t26"."member",
      "t11"."dv_f11"
    FROM (
      SELECT
        "t24"."key",
        "t24"."user",
        BOOL_OR(CAST("t24"."ts" > MAKE_TIMESTAMP(2026, 2, 22, 0, 0, 0.0) AS BOOLEAN)) AS "g_f7",
        BOOL_OR(
          CAST((
            "t24"."event" = 'Comment Added'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
          ) AS BOOLEAN)
        ) AS "g_f9",
        BOOL_OR(CAST("t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0) AS BOOLEAN)) AS "g_f11",
        BOOL_OR(
          CAST((
            "t24"."event" = 'Dashboard Shared'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
          ) AS BOOLEAN)
        ) AS "g_f16",
        BOOL_OR(CAST("t24"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0) AS BOOLEAN)) AS "g_f17",
        BOOL_OR(
          CAST((
            "t24"."event" = 'Signed Up'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          ) AS BOOLEAN)
        ) AS "g_f22",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'Invite Sent'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
          )) AS "q_f14",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'Invite Accepted'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
          )) AS "q_f15",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'SSO Settings Viewed'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          )) AS "q_f18",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'Audit Log Viewed'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          )) AS "q_f19",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'API Key Created'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          )) AS "q_f20",
        COUNT("t24"."ts") FILTER(WHERE
          (
            "t24"."event" = 'Integration Connected'
          )
          AND (
            "t24"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          )) AS "q_f21",
        BOOL_OR(CAST("t24"."member" AS BOOLEAN)) AS "member"
      FROM (
        SELECT
          "t18"."member",
          "t18"."account",
          "t18"."user",
          "t18"."event",
          "t18"."ts",
          "t18"."account" AS "key"
        FROM "t17" AS "t18"
        WHERE
          (
            "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
          )
          OR (
            (
              "t18"."event" = 'API Key Created'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Audit Log Viewed'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Comment Added'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Dashboard Shared'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Integration Connected'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Invite Accepted'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Invite Sent'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'SSO Settings Viewed'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
            )
          )
          OR (
            (
              "t18"."event" = 'Signed Up'
            )
            AND (
              "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
            )
          )
      ) AS "t24"
      GROUP BY
        1,
        2
    ) AS "t26"
    LEFT OUTER JOIN (
      SELECT
        "t0"."user_id" AS "dv_user",
        CASE
          WHEN CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') = 'BOOLEAN'
            THEN CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS BOOLEAN)
            ELSE NULL
          END IS NOT NULL
          THEN 'b:' || CAST(CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') = 'BOOLEAN'
            THEN CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS BOOLEAN)
            ELSE NULL
          END AS TEXT)
          WHEN CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
            THEN CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS DOUBLE)
            ELSE NULL
          END IS NOT NULL
          THEN 'n:' || CAST(CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
            THEN CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS DOUBLE)
            ELSE NULL
          END AS TEXT)
          WHEN CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') = 'VARCHAR'
            THEN (
              CAST("t0"."u_traits" AS JSON) -> '$.department'
            ) ->> '$'
            ELSE NULL
          END IS NOT NULL
          THEN 's:' || CASE
            WHEN JSON_TYPE(CAST("t0"."u_traits" AS JSON) -> '$.department') = 'VARCHAR'
            THEN (
              CAST("t0"."u_traits" AS JSON) -> '$.department'
            ) ->> '$'
            ELSE NULL
          END
          WHEN COALESCE(
            (
              (
                CAST("t0"."u_traits" AS JSON) -> '$.department'
              ) IS NOT NULL
            )
            AND (
              CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS TEXT) <> 'null'
            ),
            FALSE
          )
          THEN 'j:' || CAST(CAST("t0"."u_traits" AS JSON) -> '$.department' AS TEXT)
          ELSE CAST(NULL AS TEXT)
        END AS "dv_f11"
      FROM "snap_users" AS "t0"
    ) AS "t11"
      ON "t26"."user" = "t11"."dv_user"
  ) AS "t27"
  GROUP BY
    1
) AS "t29"
FULL OUTER JOIN (
  SELECT
    "t21"."key" AS "part_key",
    "t21"."f8"
  FROM (
    SELECT
      "t20"."key",
      COUNT("t20"."day") FILTER(WHERE
        "t20"."g_f8") AS "f8"
    FROM (
      SELECT
        "t19"."key",
        "t19"."day",
        BOOL_OR(CAST("t19"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0) AS BOOLEAN)) AS "g_f8"
      FROM (
        SELECT
          "t18"."member",
          "t18"."account",
          "t18"."user",
          "t18"."event",
          "t18"."ts",
          "t18"."account" AS "key",
          CAST("t18"."ts" AS DATE) AS "day"
        FROM "t17" AS "t18"
        WHERE
          "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
      ) AS "t19"
      GROUP BY
        1,
        2
    ) AS "t20"
    GROUP BY
      1
  ) AS "t21"
) AS "t23"
  ON "t29"."key" = "t23"."part_key"

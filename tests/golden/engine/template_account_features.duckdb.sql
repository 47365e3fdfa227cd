WITH "t8" AS (
  SELECT
    COALESCE("t5"."map_user", "t7"."raw") AS "user",
    "t7"."cgid",
    "t7"."event",
    "t7"."ts",
    "t7"."props"
  FROM (
    SELECT
      COALESCE("t2"."user_id", "t2"."anonymous_id") AS "raw",
      "t2"."context_group_id" AS "cgid",
      "t2"."event",
      "t2"."ts",
      "t2"."properties" AS "props"
    FROM "events" AS "t2"
    WHERE
      "t2"."ts" <= MAKE_TIMESTAMP(2026, 3, 1, 0, 0, 0.0)
      AND "t2"."type" IN ('page', 'screen', 'track')
  ) AS "t7"
  LEFT OUTER JOIN "snap_map" AS "t5"
    ON "t7"."raw" = "t5"."raw_id"
)
SELECT
  "t18"."account" AS "key",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 22, 0, 0, 0.0)) AS "f7",
  COUNT(DISTINCT CAST("t18"."ts" AS DATE)) FILTER(WHERE
    "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)) AS "f8",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Comment Added'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
    )) AS "f9",
  COUNT(DISTINCT "t18"."dv_f11") FILTER(WHERE
    "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)) AS "f11",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Invite Sent'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
    )) AS "f14",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Invite Accepted'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
    )) AS "f15",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Dashboard Shared'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)
    )) AS "f16",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    "t18"."ts" > MAKE_TIMESTAMP(2026, 2, 15, 0, 0, 0.0)) AS "f17",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'SSO Settings Viewed'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
    )) AS "f18",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Audit Log Viewed'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
    )) AS "f19",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'API Key Created'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
    )) AS "f20",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Integration Connected'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
    )) AS "f21",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Signed Up'
    )
    AND (
      "t18"."ts" > MAKE_TIMESTAMP(2026, 1, 30, 0, 0, 0.0)
    )) AS "f22"
FROM (
  SELECT
    "t17"."account",
    "t17"."user",
    "t17"."event",
    "t17"."ts",
    "t17"."props",
    "t11"."dv_f11"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t10"."cgid" AS "account",
        "t10"."user",
        "t10"."event",
        "t10"."ts",
        "t10"."props"
      FROM "t8" AS "t10"
      WHERE
        "t10"."cgid" IS NOT NULL
    ) AS "t12"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        "t4"."m_account" AS "account",
        "t14"."user",
        "t14"."event",
        "t14"."ts",
        "t14"."props"
      FROM (
        SELECT
          *
        FROM "t8" AS "t10"
        WHERE
          "t10"."cgid" IS NULL
      ) AS "t14"
      INNER JOIN "snap_members" AS "t4"
        ON "t14"."user" = "t4"."m_user"
    ) AS "t15"
  ) AS "t17"
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
    ON "t17"."user" = "t11"."dv_user"
) AS "t18"
GROUP BY
  1

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
      "t2"."ts" <= CAST('2026-03-01T00:00:00' AS TIMESTAMP)
      AND "t2"."type" IN ('page', 'screen', 'track')
  ) AS "t7"
  LEFT OUTER JOIN "snap_map" AS "t5"
    ON "t7"."raw" = "t5"."raw_id"
)
SELECT
  "t18"."account" AS "key",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    "t18"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)) AS "f7",
  COUNT(DISTINCT DATE("t18"."ts")) FILTER(WHERE
    "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "f8",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Comment Added'
    )
    AND (
      "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f9",
  COUNT(DISTINCT "t18"."dv_f11") FILTER(WHERE
    "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)) AS "f11",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Invite Sent'
    )
    AND (
      "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f14",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Invite Accepted'
    )
    AND (
      "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f15",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Dashboard Shared'
    )
    AND (
      "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f16",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    "t18"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "f17",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'SSO Settings Viewed'
    )
    AND (
      "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f18",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Audit Log Viewed'
    )
    AND (
      "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f19",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'API Key Created'
    )
    AND (
      "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f20",
  COUNT("t18"."ts") FILTER(WHERE
    (
      "t18"."event" = 'Integration Connected'
    )
    AND (
      "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f21",
  COUNT(DISTINCT "t18"."user") FILTER(WHERE
    (
      "t18"."event" = 'Signed Up'
    )
    AND (
      "t18"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
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
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'boolean'
          THEN CAST(JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          ) AS BOOLEAN)
          ELSE NULL
        END IS NOT NULL
        THEN 'b:' || CAST(CASE
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'boolean'
          THEN CAST(JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          ) AS BOOLEAN)
          ELSE NULL
        END AS VARCHAR)
        WHEN CASE
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'number'
          THEN CAST(JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          ) AS DOUBLE PRECISION)
          ELSE NULL
        END IS NOT NULL
        THEN 'n:' || CAST(CASE
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'number'
          THEN CAST(JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          ) AS DOUBLE PRECISION)
          ELSE NULL
        END AS VARCHAR)
        WHEN CASE
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'string'
          THEN JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          )
          ELSE NULL
        END IS NOT NULL
        THEN 's:' || CASE
          WHEN JSON_TYPEOF(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')) = 'string'
          THEN JSON_EXTRACT_PATH_TEXT(
            JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department'),
            VARIADIC ARRAY[]::TEXT[]
          )
          ELSE NULL
        END
        WHEN COALESCE(
          (
            (
              JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department')
            ) IS NOT NULL
          )
          AND (
            CAST(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department') AS VARCHAR) <> 'null'
          ),
          FALSE
        )
        THEN 'j:' || CAST(JSON_EXTRACT_PATH(CAST("t0"."u_traits" AS JSON), 'department') AS VARCHAR)
        ELSE CAST(NULL AS VARCHAR)
      END AS "dv_f11"
    FROM "snap_users" AS "t0"
  ) AS "t11"
    ON "t17"."user" = "t11"."dv_user"
) AS "t18"
GROUP BY
  1

WITH "t13" AS (
  SELECT
    COALESCE("t12"."cgid", "t4"."m_account") AS "account",
    "t12"."user",
    "t12"."event",
    "t12"."ts"
  FROM (
    SELECT
      "t8"."user",
      "t8"."cgid",
      "t8"."event",
      "t8"."ts",
      CASE WHEN "t8"."cgid" IS NULL THEN "t8"."user" ELSE CAST(NULL AS VARCHAR) END AS "via_user"
    FROM (
      SELECT
        COALESCE("t5"."map_user", "t7"."raw") AS "user",
        "t7"."cgid",
        "t7"."event",
        "t7"."ts"
      FROM (
        SELECT
          COALESCE("t2"."user_id", "t2"."anonymous_id") AS "raw",
          "t2"."context_group_id" AS "cgid",
          "t2"."event",
          "t2"."ts"
        FROM "events" AS "t2"
        WHERE
          "t2"."ts" <= CAST('2026-03-01T00:00:00' AS TIMESTAMP)
          AND "t2"."type" IN ('page', 'screen', 'track')
      ) AS "t7"
      LEFT OUTER JOIN "snap_map" AS "t5"
        ON "t7"."raw" = "t5"."raw_id"
    ) AS "t8"
  ) AS "t12"
  LEFT OUTER JOIN "snap_members" AS "t4"
    ON "t12"."via_user" = "t4"."m_user"
), "t15" AS (
  SELECT
    "t14"."account",
    "t14"."user",
    "t14"."event",
    "t14"."ts",
    "t14"."account" AS "key"
  FROM "t13" AS "t14"
  WHERE
    "t14"."account" IS NOT NULL
)
SELECT
  "t21"."key",
  "t21"."f14",
  "t21"."f15",
  "t21"."f18",
  "t21"."f19",
  "t21"."f20",
  "t21"."f21",
  "t27"."f7",
  "t27"."f9",
  "t27"."f11",
  "t27"."f16",
  "t27"."f17",
  "t27"."f22",
  "t24"."f8"
FROM (
  SELECT
    "t17"."key",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'Invite Sent'
      )
      AND (
        "t17"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f14",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'Invite Accepted'
      )
      AND (
        "t17"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f15",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'SSO Settings Viewed'
      )
      AND (
        "t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f18",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'Audit Log Viewed'
      )
      AND (
        "t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f19",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'API Key Created'
      )
      AND (
        "t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f20",
    COUNT("t17"."ts") FILTER(WHERE
      (
        "t17"."event" = 'Integration Connected'
      )
      AND (
        "t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f21"
  FROM "t15" AS "t17"
  GROUP BY
    1
) AS "t21"
INNER JOIN (
  SELECT
    "t25"."key",
    COUNT("t25"."user") FILTER(WHERE
      "t25"."g_f7") AS "f7",
    COUNT("t25"."user") FILTER(WHERE
      "t25"."g_f9") AS "f9",
    COUNT(DISTINCT "t25"."dv_f11") FILTER(WHERE
      "t25"."g_f11") AS "f11",
    COUNT("t25"."user") FILTER(WHERE
      "t25"."g_f16") AS "f16",
    COUNT("t25"."user") FILTER(WHERE
      "t25"."g_f17") AS "f17",
    COUNT("t25"."user") FILTER(WHERE
      "t25"."g_f22") AS "f22"
  FROM (
    SELECT
      "t22"."key",
      "t22"."user",
      "t22"."g_f7",
      "t22"."g_f9",
      "t22"."g_f11",
      "t22"."g_f16",
      "t22"."g_f17",
      "t22"."g_f22",
      "t10"."dv_f11"
    FROM (
      SELECT
        "t17"."key",
        "t17"."user",
        BOOL_OR("t17"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)) AS "g_f7",
        BOOL_OR(
          (
            "t17"."event" = 'Comment Added'
          )
          AND (
            "t17"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f9",
        BOOL_OR("t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)) AS "g_f11",
        BOOL_OR(
          (
            "t17"."event" = 'Dashboard Shared'
          )
          AND (
            "t17"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f16",
        BOOL_OR("t17"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "g_f17",
        BOOL_OR(
          (
            "t17"."event" = 'Signed Up'
          )
          AND (
            "t17"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f22"
      FROM "t15" AS "t17"
      GROUP BY
        1,
        2
    ) AS "t22"
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
    ) AS "t10"
      ON "t22"."user" = "t10"."dv_user"
  ) AS "t25"
  GROUP BY
    1
) AS "t27"
  ON "t21"."key" = "t27"."key"
INNER JOIN (
  SELECT
    "t18"."key",
    COUNT("t18"."day") FILTER(WHERE
      "t18"."g_f8") AS "f8"
  FROM (
    SELECT
      "t16"."key",
      "t16"."day",
      BOOL_OR("t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "g_f8"
    FROM (
      SELECT
        "t14"."account",
        "t14"."user",
        "t14"."event",
        "t14"."ts",
        "t14"."account" AS "key",
        DATE("t14"."ts") AS "day"
      FROM "t13" AS "t14"
      WHERE
        "t14"."account" IS NOT NULL
    ) AS "t16"
    GROUP BY
      1,
      2
  ) AS "t18"
  GROUP BY
    1
) AS "t24"
  ON "t21"."key" = "t24"."key"

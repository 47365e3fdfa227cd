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
        COALESCE("t5"."map_user", "t7"."who") AS "user",
        "t7"."cgid",
        "t7"."event",
        "t7"."ts"
      FROM (
        SELECT
          COALESCE("t2"."user_id", "t2"."anonymous_id") AS "who",
          "t2"."context_group_id" AS "cgid",
          "t2"."event",
          "t2"."ts"
        FROM "events" AS "t2"
        WHERE
          "t2"."ts" <= CAST('2026-03-01T00:00:00' AS TIMESTAMP)
          AND "t2"."type" IN ('page', 'screen', 'track')
      ) AS "t7"
      LEFT OUTER JOIN "snap_map" AS "t5"
        ON "t7"."who" = "t5"."raw_id"
    ) AS "t8"
  ) AS "t12"
  LEFT OUTER JOIN "snap_members" AS "t4"
    ON "t12"."via_user" = "t4"."m_user"
)
SELECT
  "t25"."f7",
  "t25"."f9",
  "t25"."f11",
  "t25"."f16",
  "t25"."f17",
  "t25"."f22",
  "t25"."f14",
  "t25"."f15",
  "t25"."f18",
  "t25"."f19",
  "t25"."f20",
  "t25"."f21",
  "t19"."f8",
  COALESCE("t25"."key", "t19"."part_key") AS "key"
FROM (
  SELECT
    "t23"."key",
    COUNT("t23"."user") FILTER(WHERE
      "t23"."g_f7") AS "f7",
    COUNT("t23"."user") FILTER(WHERE
      "t23"."g_f9") AS "f9",
    COUNT(DISTINCT "t23"."dv_f11") FILTER(WHERE
      "t23"."g_f11") AS "f11",
    COUNT("t23"."user") FILTER(WHERE
      "t23"."g_f16") AS "f16",
    COUNT("t23"."user") FILTER(WHERE
      "t23"."g_f17") AS "f17",
    COUNT("t23"."user") FILTER(WHERE
      "t23"."g_f22") AS "f22",
    SUM("t23"."q_f14") AS "f14",
    SUM("t23"."q_f15") AS "f15",
    SUM("t23"."q_f18") AS "f18",
    SUM("t23"."q_f19") AS "f19",
    SUM("t23"."q_f20") AS "f20",
    SUM("t23"."q_f21") AS "f21"
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
      "t22"."q_f14",
      "t22"."q_f15",
      "t22"."q_f18",
      "t22"."q_f19",
      "t22"."q_f20",
      "t22"."q_f21",
      "t10"."dv_f11"
    FROM (
      SELECT
        "t20"."key",
        "t20"."user",
        BOOL_OR("t20"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)) AS "g_f7",
        BOOL_OR(
          (
            "t20"."event" = 'Comment Added'
          )
          AND (
            "t20"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f9",
        BOOL_OR("t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)) AS "g_f11",
        BOOL_OR(
          (
            "t20"."event" = 'Dashboard Shared'
          )
          AND (
            "t20"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f16",
        BOOL_OR("t20"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "g_f17",
        BOOL_OR(
          (
            "t20"."event" = 'Signed Up'
          )
          AND (
            "t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )
        ) AS "g_f22",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'Invite Sent'
          )
          AND (
            "t20"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )) AS "q_f14",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'Invite Accepted'
          )
          AND (
            "t20"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
          )) AS "q_f15",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'SSO Settings Viewed'
          )
          AND (
            "t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )) AS "q_f18",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'Audit Log Viewed'
          )
          AND (
            "t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )) AS "q_f19",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'API Key Created'
          )
          AND (
            "t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )) AS "q_f20",
        COUNT("t20"."ts") FILTER(WHERE
          (
            "t20"."event" = 'Integration Connected'
          )
          AND (
            "t20"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
          )) AS "q_f21"
      FROM (
        SELECT
          "t14"."account",
          "t14"."user",
          "t14"."event",
          "t14"."ts",
          "t14"."account" AS "key"
        FROM "t13" AS "t14"
        WHERE
          "t14"."account" IS NOT NULL
          AND (
            (
              "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
            )
            OR (
              (
                "t14"."event" = 'API Key Created'
              )
              AND (
                "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Audit Log Viewed'
              )
              AND (
                "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Comment Added'
              )
              AND (
                "t14"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Dashboard Shared'
              )
              AND (
                "t14"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Integration Connected'
              )
              AND (
                "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Invite Accepted'
              )
              AND (
                "t14"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Invite Sent'
              )
              AND (
                "t14"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'SSO Settings Viewed'
              )
              AND (
                "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
              )
            )
            OR (
              (
                "t14"."event" = 'Signed Up'
              )
              AND (
                "t14"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
              )
            )
          )
      ) AS "t20"
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
  ) AS "t23"
  GROUP BY
    1
) AS "t25"
FULL OUTER JOIN (
  SELECT
    "t17"."key" AS "part_key",
    "t17"."f8"
  FROM (
    SELECT
      "t16"."key",
      COUNT("t16"."day") FILTER(WHERE
        "t16"."g_f8") AS "f8"
    FROM (
      SELECT
        "t15"."key",
        "t15"."day",
        BOOL_OR("t15"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "g_f8"
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
          AND "t14"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      ) AS "t15"
      GROUP BY
        1,
        2
    ) AS "t16"
    GROUP BY
      1
  ) AS "t17"
) AS "t19"
  ON "t25"."key" = "t19"."part_key"

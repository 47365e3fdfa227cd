SELECT
  "t16"."account" AS "key",
  COUNT(DISTINCT "t16"."user") FILTER(WHERE
    "t16"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)) AS "f7",
  COUNT(DISTINCT DATE("t16"."ts")) FILTER(WHERE
    "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "f8",
  COUNT(DISTINCT "t16"."user") FILTER(WHERE
    (
      "t16"."event" = 'Comment Added'
    )
    AND (
      "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f9",
  COUNT(DISTINCT "t16"."dv_f11") FILTER(WHERE
    "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)) AS "f11",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'Invite Sent'
    )
    AND (
      "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f14",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'Invite Accepted'
    )
    AND (
      "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f15",
  COUNT(DISTINCT "t16"."user") FILTER(WHERE
    (
      "t16"."event" = 'Dashboard Shared'
    )
    AND (
      "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f16",
  COUNT(DISTINCT "t16"."user") FILTER(WHERE
    "t16"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)) AS "f17",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'SSO Settings Viewed'
    )
    AND (
      "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f18",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'Audit Log Viewed'
    )
    AND (
      "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f19",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'API Key Created'
    )
    AND (
      "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f20",
  COUNT("t16"."ts") FILTER(WHERE
    (
      "t16"."event" = 'Integration Connected'
    )
    AND (
      "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f21",
  COUNT(DISTINCT "t16"."user") FILTER(WHERE
    (
      "t16"."event" = 'Signed Up'
    )
    AND (
      "t16"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f22"
FROM (
  SELECT
    "t15"."account",
    "t15"."user",
    "t15"."event",
    "t15"."ts",
    "t10"."dv_f11"
  FROM (
    SELECT
      *
    FROM (
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
    ) AS "t13"
    WHERE
      "t13"."account" IS NOT NULL
  ) AS "t15"
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
    ON "t15"."user" = "t10"."dv_user"
) AS "t16"
GROUP BY
  1

WITH "t5" AS (
  SELECT
    COALESCE("t2"."map_user", "t4"."raw") AS "user",
    "t4"."cgid",
    "t4"."event",
    "t4"."ts"
  FROM (
    SELECT
      COALESCE("t0"."user_id", "t0"."anonymous_id") AS "raw",
      "t0"."context_group_id" AS "cgid",
      "t0"."event",
      "t0"."ts"
    FROM "events" AS "t0"
    WHERE
      "t0"."ts" <= CAST('2026-03-01T00:00:00' AS TIMESTAMP)
      AND "t0"."type" IN ('page', 'screen', 'track')
      AND "t0"."event" IN (
        'Dashboard Shared',
        'Integration Connected',
        'Invite Sent',
        'Logged In',
        'Plan Limit Reached',
        'Pricing',
        'Report Created',
        'Upgrade Clicked'
      )
  ) AS "t4"
  LEFT OUTER JOIN "snap_map" AS "t2"
    ON "t4"."raw" = "t2"."raw_id"
)
SELECT
  "t10"."key",
  "t10"."f1",
  "t10"."f2",
  "t10"."f3",
  "t10"."f4",
  "t10"."f5",
  "t10"."f6",
  "t10"."f12",
  "t10"."f13",
  "t13"."f0"
FROM (
  SELECT
    "t7"."key",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Report Created'
      )
      AND (
        "t7"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f1",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Dashboard Shared'
      )
      AND (
        "t7"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f2",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Invite Sent'
      )
      AND (
        "t7"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f3",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Integration Connected'
      )
      AND (
        "t7"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f4",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Pricing'
      )
      AND (
        "t7"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)
      )) AS "f5",
    MAX("t7"."ts") FILTER(WHERE
      "t7"."event" = 'Logged In') AS "f6",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Upgrade Clicked'
      )
      AND (
        "t7"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f12",
    COUNT("t7"."ts") FILTER(WHERE
      (
        "t7"."event" = 'Plan Limit Reached'
      )
      AND (
        "t7"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f13"
  FROM (
    SELECT
      "t6"."user",
      "t6"."cgid",
      "t6"."event",
      "t6"."ts",
      "t6"."user" AS "key"
    FROM "t5" AS "t6"
  ) AS "t7"
  GROUP BY
    1
) AS "t10"
INNER JOIN (
  SELECT
    "t11"."key",
    COUNT("t11"."day") FILTER(WHERE
      "t11"."g_f0") AS "f0"
  FROM (
    SELECT
      "t8"."key",
      "t8"."day",
      BOOL_OR(
        (
          "t8"."event" = 'Logged In'
        )
        AND (
          "t8"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
        )
      ) AS "g_f0"
    FROM (
      SELECT
        "t6"."user",
        "t6"."cgid",
        "t6"."event",
        "t6"."ts",
        "t6"."user" AS "key",
        DATE("t6"."ts") AS "day"
      FROM "t5" AS "t6"
    ) AS "t8"
    GROUP BY
      1,
      2
  ) AS "t11"
  GROUP BY
    1
) AS "t13"
  ON "t10"."key" = "t13"."key"

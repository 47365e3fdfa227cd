SELECT
  "t5"."user" AS "key",
  COUNT(DISTINCT DATE("t5"."ts")) FILTER(WHERE
    (
      "t5"."event" = 'Logged In'
    )
    AND (
      "t5"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f0",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Report Created'
    )
    AND (
      "t5"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f1",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Dashboard Shared'
    )
    AND (
      "t5"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f2",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Invite Sent'
    )
    AND (
      "t5"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f3",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Integration Connected'
    )
    AND (
      "t5"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
    )) AS "f4",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Pricing'
    )
    AND (
      "t5"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)
    )) AS "f5",
  MAX("t5"."ts") FILTER(WHERE
    "t5"."event" = 'Logged In') AS "f6",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Upgrade Clicked'
    )
    AND (
      "t5"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f12",
  COUNT("t5"."ts") FILTER(WHERE
    (
      "t5"."event" = 'Plan Limit Reached'
    )
    AND (
      "t5"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
    )) AS "f13"
FROM (
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
) AS "t5"
GROUP BY
  1

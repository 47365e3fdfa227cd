WITH "t5" AS (
  SELECT
    COALESCE("t2"."map_user", "t4"."who") AS "user",
    "t4"."cgid",
    "t4"."event",
    "t4"."ts"
  FROM (
    SELECT
      COALESCE("t0"."user_id", "t0"."anonymous_id") AS "who",
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
    ON "t4"."who" = "t2"."raw_id"
)
SELECT
  "t14"."f1",
  "t14"."f2",
  "t14"."f3",
  "t14"."f4",
  "t14"."f5",
  "t14"."f6",
  "t14"."f12",
  "t14"."f13",
  "t12"."f0",
  COALESCE("t14"."key", "t12"."part_key") AS "key"
FROM (
  SELECT
    "t10"."key",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Report Created'
      )
      AND (
        "t10"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f1",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Dashboard Shared'
      )
      AND (
        "t10"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f2",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Invite Sent'
      )
      AND (
        "t10"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f3",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Integration Connected'
      )
      AND (
        "t10"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
      )) AS "f4",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Pricing'
      )
      AND (
        "t10"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)
      )) AS "f5",
    MAX("t10"."ts") FILTER(WHERE
      "t10"."event" = 'Logged In') AS "f6",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Upgrade Clicked'
      )
      AND (
        "t10"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f12",
    COUNT("t10"."ts") FILTER(WHERE
      (
        "t10"."event" = 'Plan Limit Reached'
      )
      AND (
        "t10"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      )) AS "f13"
  FROM (
    SELECT
      "t6"."user",
      "t6"."cgid",
      "t6"."event",
      "t6"."ts",
      "t6"."user" AS "key"
    FROM "t5" AS "t6"
    WHERE
      (
        (
          "t6"."event" = 'Dashboard Shared'
        )
        AND (
          "t6"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        (
          "t6"."event" = 'Integration Connected'
        )
        AND (
          "t6"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        (
          "t6"."event" = 'Invite Sent'
        )
        AND (
          "t6"."ts" > CAST('2026-01-30T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        "t6"."event" = 'Logged In'
      )
      OR (
        (
          "t6"."event" = 'Plan Limit Reached'
        )
        AND (
          "t6"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        (
          "t6"."event" = 'Pricing'
        )
        AND (
          "t6"."ts" > CAST('2026-02-22T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        (
          "t6"."event" = 'Report Created'
        )
        AND (
          "t6"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
        )
      )
      OR (
        (
          "t6"."event" = 'Upgrade Clicked'
        )
        AND (
          "t6"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
        )
      )
  ) AS "t10"
  GROUP BY
    1
) AS "t14"
FULL OUTER JOIN (
  SELECT
    "t9"."key" AS "part_key",
    "t9"."f0"
  FROM (
    SELECT
      "t8"."key",
      COUNT("t8"."day") FILTER(WHERE
        "t8"."g_f0") AS "f0"
    FROM (
      SELECT
        "t7"."key",
        "t7"."day",
        BOOL_OR(
          (
            "t7"."event" = 'Logged In'
          )
          AND (
            "t7"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
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
        WHERE
          "t6"."event" = 'Logged In'
          AND "t6"."ts" > CAST('2026-02-15T00:00:00' AS TIMESTAMP)
      ) AS "t7"
      GROUP BY
        1,
        2
    ) AS "t8"
    GROUP BY
      1
  ) AS "t9"
) AS "t12"
  ON "t14"."key" = "t12"."part_key"

"""Alerts: Slack and signed webhooks, delivered from a durable outbox.

- ``events.AlertEvent``: what the lifecycle reports (qualified, assigned, converted,
  expired, stage_changed).
- ``outbox.enqueue(session, config, event)``: one outbox row per matching ``alerts:``
  target, in the caller's transaction (filters ``on``, ``pqls``, ``touch``; ``bundle``).
- ``slack`` / ``webhook``: the payloads (pure); ``render``: wording they share.
- ``deliver.Deliverer``: claims due deliveries, sends them, retries with backoff, gives up.
- ``settings.AlertSettings``: ``BEACHHEAD_PUBLIC_URL``, ``BEACHHEAD_ALERT_*``.

The table and its queries are in ``store/outbox_models.py``; ``beachhead deliver``
(``cli/deliver.py``) runs one round, ``serve`` runs rounds continuously
(``web/alerts_worker.py``).
"""

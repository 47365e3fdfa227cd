"""``${NAME}`` written unquoted in a flow mapping, as the spec's own example writes it."""

from __future__ import annotations

import pytest

from beachhead.rules.load import ConfigError, load_text

HEAD = """version: 1
pqls:
  - {key: a, name: A, motion: custom, level: user, when: {event: X}}
alerts:
"""


def test_spec_example_loads_with_the_reference_kept() -> None:
    config = load_text(HEAD + "  - {on: qualified, slack: {webhook_url: ${SLACK_WEBHOOK_URL}}}\n")
    assert config.alerts[0].slack is not None
    assert config.alerts[0].slack.webhook_url == "${SLACK_WEBHOOK_URL}"


def test_quoted_and_embedded_references_are_kept_as_written() -> None:
    text = HEAD + '  - {on: qualified, webhook: {url: "https://h/${P}/x", secret: ${S}}}\n'
    webhook = load_text(text).alerts[0].webhook
    assert webhook is not None
    assert (webhook.url, webhook.secret) == ("https://h/${P}/x", "${S}")


def test_columns_after_a_reference_are_unchanged() -> None:
    line = "  - {on: qualified, slack: {webhook_url: ${SLACK_WEBHOOK_URL}}, bundle: 5x}"
    with pytest.raises(ConfigError) as err:
        load_text(HEAD + line + "\n")
    [diag] = err.value.diagnostics
    assert (diag.line, diag.column) == (5, line.index("5x") + 1)
    assert diag.path == "alerts[0].bundle"

"""The compiled evaluator: definitions -> Ibis expressions on DuckDB or PostgreSQL.

``evaluate(store_or_backend, config, as_of, snapshot=None) -> Evaluation`` gives the same
``Evaluation`` as the oracle (``rules/reference.py``), computed in the database: features
in one grouped pass per level, predicates, scores, stages and touch as expressions, and
only the matching rows fetched. ``Unsupported(feature, backend)`` names a gap.
"""

from beachhead.engine.errors import Unsupported
from beachhead.engine.evaluate import evaluate

__all__ = ["Unsupported", "evaluate"]

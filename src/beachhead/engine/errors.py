"""The engine's honest gap: a feature a backend cannot compute says so by name.

Modelled on Ibis' ``OperationNotDefinedError``: rather than a wrong answer, evaluation
stops with ``Unsupported(feature, backend)`` so the caller can pick another backend or
change the definition.
"""

from __future__ import annotations


class Unsupported(NotImplementedError):
    """``feature`` (a short description) cannot be evaluated on ``backend``."""

    def __init__(self, feature: str, backend: str) -> None:
        super().__init__(f"{feature} is not supported on the {backend} backend")
        self.feature = feature
        self.backend = backend

"""The shares of the simulated business: part of a pipeline's identity, like the seed.

Kept free of heavy imports: it crosses Temporal inside every pipeline reference, and
clients (the starter) load in a blink.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    repeat_share: float = 1 / 3
    cancellation: float = 0.05
    return_for_refund: float = 0.05
    return_for_no_refund: float = 0.02

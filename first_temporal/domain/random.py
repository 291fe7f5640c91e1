"""Counter-based randomness: every value is a SplitMix64 hash of (seed, stream, counter).

Not a stateful generator, for three reasons:

* a retry or rerun of any batch reproduces the same bytes;
* a customer's identity is a function of (seed, customer_id), so a repeat customer is
  picked and named without reading customer.csv;
* a transaction's fate (disputed or not, which kind, when) is a function of
  (seed, transaction_id), so a batch decides its disputes and deliveries from the open
  90-day window alone and never scans dispute.csv or delivery.csv.

One implementation over numpy arrays serves a single value and a million alike.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
UNIT = 1 << 53  # probabilities are compared as 53-bit integers

# Salts keep the independent random streams apart.
SALT_STEP, SALT_COUNT, SALT_REPEAT, SALT_PICK, SALT_PRODUCT, SALT_DELIVERY = 1, 2, 3, 4, 5, 6
SALT_FIRST, SALT_LAST, SALT_DOMAIN, SALT_FATE, SALT_TARGET, SALT_BATCH = 7, 8, 9, 10, 11, 12


def mix64(x: U64) -> U64:
    """SplitMix64 finaliser: a fast, well-distributed 64-bit hash (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def draw(key: int | U64, salt: int, counters: npt.ArrayLike) -> U64:
    """The `counters`-th 64-bit draws of stream `salt` under `key` (one key or one per row)."""
    inner = mix64(np.uint64(salt << 40) ^ np.asarray(counters, dtype=np.uint64))
    return mix64(np.asarray(key, dtype=np.uint64) ^ inner)


def draw_one(key: int, salt: int, counter: int) -> int:
    return int(draw(key, salt, [counter])[0])


@lru_cache(maxsize=64)
def seed_key(seed: int) -> int:
    digest = hashlib.blake2b(str(seed).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def probability(share: float) -> int:
    return round(share * UNIT)


def below(draws: U64, share: float) -> npt.NDArray[np.bool_]:
    """True where a draw falls under `share` (its top 53 bits against the share)."""
    result: npt.NDArray[np.bool_] = (draws >> np.uint64(11)) < np.uint64(probability(share))
    return result

"""The simulated dealership: every value is a pure function of the seed and the checkpoint.

Randomness is counter-based (a SplitMix64 hash of seed, salt and a counter) rather
than a stateful generator, for three reasons:

* a retry or rerun of any batch reproduces the same bytes;
* a customer's identity is a function of (seed, customer_id), so a repeat customer is
  picked and looked up without reading customer.csv;
* a transaction's fate (disputed or not, which kind, when) is a function of
  (seed, transaction_id), so a batch decides today's disputes and deliveries from the
  open 90-day window alone and never needs to scan dispute.csv or delivery.csv.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import lru_cache

from faker.providers.internet.en_US import Provider as _Internet
from faker.providers.person.en_US import Provider as _Person

from first_temporal import schema

# Re-exported: the row types are part of the source's vocabulary.
from first_temporal.rows import Customer as Customer
from first_temporal.rows import Delivery as Delivery
from first_temporal.rows import Dispute as Dispute
from first_temporal.rows import Purchase as Purchase
from first_temporal.rows import Rates as Rates

MASK64 = (1 << 64) - 1
UNIT = 1 << 53  # probabilities are compared as 53-bit integers

# Salts keep the independent random streams apart.
SALT_STEP, SALT_COUNT, SALT_REPEAT, SALT_PICK, SALT_PRODUCT, SALT_DELIVERY = 1, 2, 3, 4, 5, 6
SALT_FIRST, SALT_LAST, SALT_DOMAIN, SALT_FATE, SALT_TARGET, SALT_BATCH = 7, 8, 9, 10, 11, 12

FIRST_NAMES: tuple[str, ...] = tuple(sorted(_Person.first_names))
LAST_NAMES: tuple[str, ...] = tuple(sorted(_Person.last_names))
EMAIL_DOMAINS: tuple[str, ...] = tuple(_Internet.free_email_domains)


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-distributed 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def draw(key: int, salt: int, counter: int) -> int:
    """The `counter`-th 64-bit draw of stream `salt` under `key`."""
    return mix64(key ^ mix64((salt << 40) ^ counter))


@lru_cache(maxsize=64)
def seed_key(seed: int) -> int:
    digest = hashlib.blake2b(str(seed).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def probability(share: float) -> int:
    return round(share * UNIT)


def customer_identity(seed: int, customer_id: int) -> tuple[str, str, str]:
    """(first_name, last_name, email) of a customer: the same on every purchase they make."""
    key = seed_key(seed)
    first = FIRST_NAMES[draw(key, SALT_FIRST, customer_id) % len(FIRST_NAMES)]
    last = LAST_NAMES[draw(key, SALT_LAST, customer_id) % len(LAST_NAMES)]
    domain = EMAIL_DOMAINS[draw(key, SALT_DOMAIN, customer_id) % len(EMAIL_DOMAINS)]
    return first, last, f"{first}.{last}{customer_id}@{domain}".lower()


def first_batch_date() -> date:
    return date.fromisoformat(schema.FIRST_BATCH_DATE)


@lru_cache(maxsize=8192)
def next_batch_date(seed: int, previous: date | None) -> date:
    """The business day after `previous` (1–3 days later); the first batch is fixed."""
    if previous is None:
        return first_batch_date()
    span = schema.MAX_BATCH_STEP_DAYS - schema.MIN_BATCH_STEP_DAYS + 1
    step = schema.MIN_BATCH_STEP_DAYS + draw(seed_key(seed), SALT_STEP, previous.toordinal()) % span
    return previous + timedelta(days=step)


def batch_key(seed: int, batch_date: date, last_customer_id: int, last_transaction_id: int) -> int:
    """Key of one day's stream: a day is a pure function of (seed, date, checkpoint)."""
    key = seed_key(seed)
    for part in (batch_date.toordinal(), last_customer_id, last_transaction_id):
        key = draw(key, SALT_BATCH, part)
    return key


def purchase_count(key: int) -> int:
    return 10 + draw(key, SALT_COUNT, 0) % 11


def generate_purchases(
    seed: int,
    batch_date: date,
    last_customer_id: int,
    last_transaction_id: int,
    rates: Rates,
    count: int | None = None,
) -> list[Purchase]:
    """The day's purchases. Repeat customers come from customers of earlier days."""
    key = batch_key(seed, batch_date, last_customer_id, last_transaction_id)
    n = purchase_count(key) if count is None else count
    existing = last_customer_id - schema.FIRST_CUSTOMER_ID + 1
    repeat_below = probability(rates.repeat_share)
    purchase_day = batch_date.isoformat()
    refund_till = (batch_date + timedelta(days=schema.REFUND_WINDOW_DAYS)).isoformat()
    next_customer = last_customer_id + 1
    rows: list[Purchase] = []
    for i in range(n):
        if existing > 0 and (draw(key, SALT_REPEAT, i) >> 11) < repeat_below:
            customer_id = schema.FIRST_CUSTOMER_ID + draw(key, SALT_PICK, i) % existing
            checkout = schema.REPEAT
        else:
            customer_id, next_customer = next_customer, next_customer + 1
            checkout = schema.FIRST_TIME
        first, last, email = customer_identity(seed, customer_id)
        product = schema.PRODUCT_IDS[draw(key, SALT_PRODUCT, i) % len(schema.PRODUCT_IDS)]
        days = schema.MIN_DELIVERY_DAYS + draw(key, SALT_DELIVERY, i) % schema.MAX_DELIVERY_DAYS
        rows.append(
            Purchase(
                customer_id=customer_id,
                first_name=first,
                last_name=last,
                email_address=email,
                checkout_type=checkout,
                transaction_id=last_transaction_id + 1 + i,
                product_id=product,
                purchase_date=purchase_day,
                delivery_date=(batch_date + timedelta(days=days)).isoformat(),
                refund_till=refund_till,
            )
        )
    return rows


def new_customers(purchases: list[Purchase]) -> list[Customer]:
    """customer.csv rows: one per first-time buyer of the day."""
    return [
        Customer(p.customer_id, p.first_name, p.last_name, p.email_address, p.purchase_date)
        for p in purchases
        if p.checkout_type == schema.FIRST_TIME
    ]

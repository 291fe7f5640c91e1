"""A small scalar oracle of the simulated source: the rules of `domain/source.py` and
`domain/lifecycle.py` written the plain way, one row and one batch date at a time, with
SplitMix64 over Python ints. Slow, obvious, and independent of numpy and polars: the
columnar domain must give exactly its rows (test_domain.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker.providers.internet.en_US import Provider as _Internet
from faker.providers.person.en_US import Provider as _Person

from first_temporal.domain import schema
from first_temporal.domain.rates import Rates

MASK = (1 << 64) - 1
FIRST_NAMES = sorted(_Person.first_names)
LAST_NAMES = sorted(_Person.last_names)
DOMAINS = list(_Internet.free_email_domains)
KINDS = (schema.CANCELLATION, schema.RETURN_FOR_REFUND, schema.RETURN_FOR_NO_REFUND)
# The same salts as domain/random.py: the streams are part of the bytes.
STEP, COUNT, REPEAT, PICK, PRODUCT, DELIVERY = 1, 2, 3, 4, 5, 6
FIRST, LAST, DOMAIN, FATE, TARGET, BATCH = 7, 8, 9, 10, 11, 12

Row = tuple[object, ...]


def mix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def draw(key: int, salt: int, counter: int) -> int:
    return mix64(key ^ mix64((salt << 40) ^ counter))


def seed_key(seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(str(seed).encode(), digest_size=8).digest(), "little")


def below(value: int, share: float) -> bool:
    return (value >> 11) < round(share * (1 << 53))


def next_date(seed: int, previous: date | None) -> date:
    if previous is None:
        return date.fromisoformat(schema.FIRST_BATCH_DATE)
    return previous + timedelta(days=1 + draw(seed_key(seed), STEP, previous.toordinal()) % 3)


def identity(seed: int, customer_id: int) -> tuple[str, str, str]:
    key = seed_key(seed)
    first = FIRST_NAMES[draw(key, FIRST, customer_id) % len(FIRST_NAMES)]
    last = LAST_NAMES[draw(key, LAST, customer_id) % len(LAST_NAMES)]
    domain = DOMAINS[draw(key, DOMAIN, customer_id) % len(DOMAINS)]
    return first, last, f"{first}.{last}{customer_id}@{domain}".lower()


def day_purchases(
    seed: int,
    rates: Rates,
    day: date,
    last_customer_id: int,
    last_transaction_id: int,
    count: int | None = None,
) -> list[Row]:
    """One business day's purchase rows, in the table's column order."""
    key = seed_key(seed)
    for part in (day.toordinal(), last_customer_id, last_transaction_id):
        key = draw(key, BATCH, part)
    if count is None:
        count = 10 + draw(key, COUNT, 0) % 11
    existing = last_customer_id - schema.FIRST_CUSTOMER_ID + 1
    next_new = last_customer_id + 1
    rows: list[Row] = []
    for i in range(count):
        repeat = existing > 0 and below(draw(key, REPEAT, i), rates.repeat_share)
        if repeat:
            customer = schema.FIRST_CUSTOMER_ID + draw(key, PICK, i) % existing
        else:
            customer, next_new = next_new, next_new + 1
        delivery = day + timedelta(days=1 + draw(key, DELIVERY, i) % 5)
        rows.append(
            (
                customer,
                *identity(seed, customer),
                schema.REPEAT if repeat else schema.FIRST_TIME,
                last_transaction_id + 1 + i,
                schema.PRODUCT_IDS[draw(key, PRODUCT, i) % len(schema.PRODUCT_IDS)],
                day,
                delivery,
                day + timedelta(days=30),
                "False",
            )
        )
    return rows


def window(seed: int, rates: Rates, purchase: Row) -> tuple[str, date, date, date] | None:
    """The transaction's dispute: its kind and the first, last and target day it may be
    filed on; None when it is never disputed."""
    txn, bought, delivered, refund_till = purchase[5], purchase[7], purchase[8], purchase[9]
    assert isinstance(txn, int) and isinstance(bought, date)
    assert isinstance(delivered, date) and isinstance(refund_till, date)
    u = draw(seed_key(seed), FATE, txn) >> 11
    shares = (rates.cancellation, rates.return_for_refund, rates.return_for_no_refund)
    bound = 0
    for kind, share, first, last in zip(
        KINDS,
        shares,
        (bought, delivered, refund_till + timedelta(days=1)),
        (delivered - timedelta(days=1), refund_till, bought + timedelta(days=90)),
        strict=True,
    ):
        bound += round(share * (1 << 53))
        if u < bound:
            span = max((last - first).days + 1, 1)
            return (
                kind,
                first,
                last,
                first + timedelta(days=draw(seed_key(seed), TARGET, txn) % span),
            )
    return None


@dataclass
class Oracle:
    """The tables after each batch, grown one business day at a time."""

    seed: int
    rates: Rates = field(default_factory=Rates)
    previous: date | None = None
    last_customer_id: int = schema.FIRST_CUSTOMER_ID - 1
    last_transaction_id: int = 0
    purchases: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    disputes: list[Row] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)
    filed: set[int] = field(default_factory=set)

    def day(self, count: int | None = None) -> date:
        today = next_date(self.seed, self.previous)
        tomorrow = next_date(self.seed, today)
        todays = day_purchases(
            self.seed, self.rates, today, self.last_customer_id, self.last_transaction_id, count
        )
        self.purchases += todays
        self.customers += [(*p[:4], p[7]) for p in todays if p[4] == schema.FIRST_TIME]
        self.last_transaction_id += len(todays)
        self.last_customer_id += sum(p[4] == schema.FIRST_TIME for p in todays)
        disputes, deliveries = [], []
        for p in self.purchases:
            txn, bought, delivered = p[5], p[7], p[8]
            assert isinstance(txn, int) and isinstance(bought, date)
            assert isinstance(delivered, date)
            if (today - bought).days > schema.DISPUTE_WINDOW_DAYS:
                continue  # out of the open window: no more events
            fate = window(self.seed, self.rates, p)
            if fate is not None and txn not in self.filed:
                kind, first, last, target = fate
                if first <= today <= last and (today >= target or tomorrow > last):
                    self.filed.add(txn)
                    disputes.append((p[0], txn, p[6], kind, today))
                    if kind == schema.CANCELLATION:
                        deliveries.append((txn, schema.CANCELLED, today))
            cancelled = fate is not None and fate[0] == schema.CANCELLATION
            due = self.previous is None or self.previous < delivered
            if not cancelled and due and delivered <= today:  # the first batch date on or after
                deliveries.append((txn, schema.DELIVERED, delivered))
        self.disputes += disputes
        self.deliveries += deliveries
        self.previous = today
        return today

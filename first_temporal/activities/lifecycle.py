"""After the sale: deliveries and disputes, decided from the open window alone.

Each transaction's fate is drawn once from (seed, transaction_id): no dispute, or one
dispute of one type with a target day inside that type's window. The dispute is filed
on the first batch date D inside the window with D >= target, or on the last batch
date inside the window if the target would be skipped (batch dates are known one step
ahead: they are a function of the seed and the previous date). That rule is monotone,
so "was it already filed?" is the same question asked about the previous batch date:
no dispute.csv lookup, and never more than one dispute per transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from first_temporal import schema
from first_temporal.activities.source import (
    SALT_FATE,
    SALT_TARGET,
    Delivery,
    Dispute,
    Rates,
    draw,
    next_batch_date,
    probability,
    seed_key,
)


@dataclass(frozen=True)
class OpenPurchase:
    """The columns of a purchase that its after-sale life depends on."""

    customer_id: int
    transaction_id: int
    product_id: int
    purchase_date: date
    delivery_date: date
    refund_till: date


@lru_cache(maxsize=32)
def _bounds(rates: Rates) -> tuple[tuple[int, str], ...]:
    bound, out = 0, []
    for kind, share in (
        (schema.CANCELLATION, rates.cancellation),
        (schema.RETURN_FOR_REFUND, rates.return_for_refund),
        (schema.RETURN_FOR_NO_REFUND, rates.return_for_no_refund),
    ):
        bound += probability(share)
        out.append((bound, kind))
    return tuple(out)


def fate(seed: int, rates: Rates, transaction_id: int) -> str | None:
    u = draw(seed_key(seed), SALT_FATE, transaction_id) >> 11
    for bound, kind in _bounds(rates):
        if u < bound:
            return kind
    return None


def dispute_window(kind: str, p: OpenPurchase) -> tuple[date, date]:
    """First and last date a dispute of `kind` may be filed for `p` (the rules of the business)."""
    if kind == schema.CANCELLATION:
        return p.purchase_date, p.delivery_date - timedelta(days=1)
    if kind == schema.RETURN_FOR_REFUND:
        return p.delivery_date, p.refund_till
    return (
        p.refund_till + timedelta(days=1),
        p.purchase_date + timedelta(days=schema.DISPUTE_WINDOW_DAYS),
    )


def _files_by(seed: int, kind: str, p: OpenPurchase, day: date | None) -> bool:
    """True when the dispute has been filed on or before batch date `day`."""
    if day is None:
        return False
    first, last = dispute_window(kind, p)
    if not first <= day <= last:
        return day > last
    span = (last - first).days + 1
    target = first + timedelta(days=draw(seed_key(seed), SALT_TARGET, p.transaction_id) % span)
    return day >= target or next_batch_date(seed, day) > last


def batch_events(
    seed: int,
    rates: Rates,
    previous: date | None,
    today: date,
    window: Iterable[OpenPurchase],
    kinds: dict[int, str | None] | None = None,
) -> tuple[list[Delivery], list[Dispute]]:
    """Deliveries and disputes that happen on batch date `today`.

    `window` must hold every purchase with purchase_date >= today - 90 days, today's
    included; older ones are ignored. `kinds` may carry the fates already drawn.
    """
    oldest = today - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    deliveries: list[Delivery] = []
    disputes: list[Dispute] = []
    today_iso = today.isoformat()
    for p in window:
        if p.purchase_date < oldest:
            continue
        kind = kinds[p.transaction_id] if kinds is not None else fate(seed, rates, p.transaction_id)
        due = p.delivery_date <= today and (previous is None or p.delivery_date > previous)
        if due and kind != schema.CANCELLATION:
            deliveries.append(
                Delivery(p.transaction_id, schema.DELIVERED, p.delivery_date.isoformat())
            )
        if kind is None:
            continue
        if _files_by(seed, kind, p, today) and not _files_by(seed, kind, p, previous):
            disputes.append(Dispute(p.customer_id, p.transaction_id, p.product_id, kind, today_iso))
            if kind == schema.CANCELLATION:
                deliveries.append(Delivery(p.transaction_id, schema.CANCELLED, today_iso))
    deliveries.sort(key=lambda d: d.transaction_id)
    disputes.sort(key=lambda d: d.transaction_id)
    return deliveries, disputes

"""Row and settings dataclasses that cross Temporal: kept free of heavy imports so that
clients (the starter) load in a blink."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    """Shares of the simulated business. They are part of a pipeline's identity, like the seed."""

    repeat_share: float = 1 / 3
    cancellation: float = 0.05
    return_for_refund: float = 0.05
    return_for_no_refund: float = 0.02


@dataclass
class Purchase:
    customer_id: int
    first_name: str
    last_name: str
    email_address: str
    checkout_type: str
    transaction_id: int
    product_id: int
    purchase_date: str
    delivery_date: str
    refund_till: str
    delivered: str = "False"


@dataclass
class Customer:
    customer_id: int
    first_name: str
    last_name: str
    email_address: str
    first_purchase_date: str


@dataclass
class Dispute:
    customer_id: int
    transaction_id: int
    product_id: int
    dispute_type: str
    dispute_date: str


@dataclass
class Delivery:
    transaction_id: int
    status: str
    status_date: str

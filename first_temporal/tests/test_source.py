"""The simulated source: deterministic, contiguous ids, the business's rules."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.rates import Rates
from first_temporal.domain.source import (
    identity_columns,
    new_customers,
    next_batch_date,
    plan_days,
    purchases,
)

D0 = date(2020, 7, 3)


def day_after(
    seed: int,
    previous: date | None,
    last_customer: int,
    last_txn: int,
    rates: Rates | None = None,
    count: int | None = None,
) -> pl.DataFrame:
    rates = rates or Rates()
    plan = plan_days(seed, rates, previous, last_customer, last_txn, 1, count)
    return purchases(seed, rates, plan)


def test_same_inputs_give_identical_purchases_and_other_seeds_differ():
    a = day_after(1, None, 99999, 0)
    assert a.equals(day_after(1, None, 99999, 0))
    assert not a.equals(day_after(2, None, 99999, 0))
    assert not day_after(1, D0, 100010, 12).equals(day_after(1, D0, 100010, 13))  # checkpoint


def test_ids_continue_at_last_plus_one_no_off_by_one():
    rows = day_after(3, date(2020, 7, 5), 100012, 13)
    assert rows["transaction_id"].to_list() == list(range(14, 14 + rows.height))
    firsts = rows.filter(pl.col("checkout_type") == schema.FIRST_TIME)["customer_id"].to_list()
    assert firsts == list(range(100013, 100013 + len(firsts)))
    repeats = rows.filter(pl.col("checkout_type") == schema.REPEAT)["customer_id"].to_list()
    assert repeats and all(100000 <= c <= 100012 for c in repeats)


def test_first_batch_has_only_first_time_customers():
    rows = day_after(5, None, 99999, 0)
    assert set(rows["checkout_type"]) == {schema.FIRST_TIME}
    assert rows["customer_id"][0] == schema.FIRST_CUSTOMER_ID
    assert rows["transaction_id"][0] == schema.FIRST_TRANSACTION_ID
    assert rows["purchase_date"][0] == D0


def test_day_rules_hold_for_many_days():
    for seed in range(20):
        previous = D0 + timedelta(days=seed)
        rows = day_after(seed, previous, 100000 + seed * 10, seed * 15)
        day = next_batch_date(seed, previous)
        assert 10 <= rows.height <= 20
        assert set(rows["purchase_date"]) == {day}
        assert set(rows["refund_till"]) == {day + timedelta(days=30)}
        assert {(d - day).days for d in rows["delivery_date"]} <= {1, 2, 3, 4, 5}
        assert set(rows["product_id"]) <= set(schema.PRODUCT_IDS)
        assert set(rows["delivered"]) == {"False"}


def test_purchases_override_sets_the_volume():
    assert day_after(1, D0, 99999, 0, count=1234).height == 1234


def test_a_span_plans_each_day_from_the_one_before():
    plan = plan_days(4, Rates(), None, 99999, 0, 5)
    previous, customer, txn = None, 99999, 0
    for day in plan:
        [alone] = plan_days(4, Rates(), previous, customer, txn, 1)
        assert day == alone
        previous, customer, txn = (
            day.date,
            customer + day.new_customers(Rates()),
            txn + day.purchases,
        )
    span = purchases(4, Rates(), plan)
    assert span["transaction_id"].to_list() == list(range(1, txn + 1))
    assert span["purchase_date"].unique(maintain_order=True).to_list() == [d.date for d in plan]


def test_batch_dates_start_2020_07_03_and_step_one_to_three_days():
    assert next_batch_date(9, None) == D0
    steps = set()
    day = D0
    for _ in range(300):
        nxt = next_batch_date(9, day)
        steps.add((nxt - day).days)
        day = nxt
    assert steps == {1, 2, 3}


def test_customer_identity_is_a_function_of_seed_and_id_and_realistic():
    ids = np.array([100123, 100124, 100123], dtype=np.uint64)
    first, last, email = (s.to_list() for s in identity_columns(4, ids))
    assert (first[0], last[0], email[0]) == (first[2], last[2], email[2])
    other = [s[0] for s in identity_columns(5, ids[:1])]
    assert other != [first[0], last[0], email[0]]
    assert first[0].isalpha() and last[0].isalpha()
    assert email[0] == f"{first[0]}.{last[0]}100123@".lower() + email[0].split("@")[1]
    assert {e.split("@")[1] for e in email} <= {"gmail.com", "yahoo.com", "hotmail.com"}


def test_repeat_purchases_carry_the_customers_identity_and_only_new_ones_become_customers():
    rates = Rates(repeat_share=0.5)
    first_day = day_after(11, None, 99999, 0, rates)
    rows = day_after(11, D0, int(first_day["customer_id"].max()), first_day.height, rates)  # type: ignore[arg-type]
    repeats = rows.filter(pl.col("checkout_type") == schema.REPEAT)
    assert repeats.height, "a 50% repeat share should give repeats in a day"
    identity = ["customer_id", "first_name", "last_name", "email_address"]
    known = repeats.select(identity).join(first_day.select(identity), on="customer_id")
    assert known.height == repeats.height  # each repeat buyer bought on the first day
    for column in identity[1:]:
        assert known[column].equals(known[f"{column}_right"], check_names=False)
    customers = new_customers(rows)
    assert customers.columns == list(schema.COLUMNS[schema.CUSTOMER])
    assert customers["customer_id"].to_list() == (
        rows.filter(pl.col("checkout_type") == schema.FIRST_TIME)["customer_id"].to_list()
    )
    assert set(customers["first_purchase_date"]) == {rows["purchase_date"][0]}

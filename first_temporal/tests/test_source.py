"""The simulated source: deterministic, contiguous ids, the business's rules."""

from __future__ import annotations

from datetime import date, timedelta

from first_temporal import schema
from first_temporal.activities.source import (
    Rates,
    customer_identity,
    generate_purchases,
    new_customers,
    next_batch_date,
)

D0 = date(2020, 7, 3)


def test_same_inputs_give_identical_purchases_and_other_seeds_differ():
    a = generate_purchases(1, D0, 99999, 0, Rates())
    b = generate_purchases(1, D0, 99999, 0, Rates())
    c = generate_purchases(2, D0, 99999, 0, Rates())
    assert a == b
    assert a != c


def test_ids_continue_at_last_plus_one_no_off_by_one():
    rows = generate_purchases(3, date(2020, 7, 6), 100012, 13, Rates())
    assert [p.transaction_id for p in rows] == list(range(14, 14 + len(rows)))
    firsts = [p.customer_id for p in rows if p.checkout_type == schema.FIRST_TIME]
    assert firsts == list(range(100013, 100013 + len(firsts)))
    repeats = [p.customer_id for p in rows if p.checkout_type == schema.REPEAT]
    assert all(100000 <= c <= 100012 for c in repeats)


def test_first_batch_has_only_first_time_customers():
    rows = generate_purchases(5, D0, 99999, 0, Rates())
    assert {p.checkout_type for p in rows} == {schema.FIRST_TIME}
    assert rows[0].customer_id == schema.FIRST_CUSTOMER_ID
    assert rows[0].transaction_id == schema.FIRST_TRANSACTION_ID


def test_day_rules_hold_for_many_days():
    for seed in range(20):
        day = D0 + timedelta(days=seed)
        rows = generate_purchases(seed, day, 100000 + seed * 10, seed * 15, Rates())
        assert 10 <= len(rows) <= 20
        for p in rows:
            delivery = date.fromisoformat(p.delivery_date)
            assert 1 <= (delivery - day).days <= 5
            assert date.fromisoformat(p.refund_till) == day + timedelta(days=30)
            assert p.product_id in schema.PRODUCT_IDS
            assert p.purchase_date == day.isoformat()
            assert p.delivered == "False"


def test_purchases_override_sets_the_volume():
    assert len(generate_purchases(1, D0, 99999, 0, Rates(), count=1234)) == 1234


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
    first, last, email = customer_identity(4, 100123)
    assert (first, last, email) == customer_identity(4, 100123)
    assert first.isalpha() and last.isalpha()
    assert email == f"{first}.{last}100123@".lower() + email.split("@")[1]
    assert email.split("@")[1] in {"gmail.com", "yahoo.com", "hotmail.com"}


def test_repeat_purchases_carry_the_customers_identity_and_only_new_ones_become_customers():
    rows = generate_purchases(11, date(2020, 9, 1), 100500, 700, Rates(repeat_share=0.5))
    repeats = [p for p in rows if p.checkout_type == schema.REPEAT]
    assert repeats, "a 50% repeat share should give repeats in a day"
    for p in repeats:
        assert (p.first_name, p.last_name, p.email_address) == customer_identity(11, p.customer_id)
    customers = new_customers(rows)
    assert [c.customer_id for c in customers] == [
        p.customer_id for p in rows if p.checkout_type == schema.FIRST_TIME
    ]
    assert all(c.first_purchase_date == "2020-09-01" for c in customers)

"""The columnar domain against the scalar oracle (tests/oracle.py), and its rules refusing
broken frames."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest

from first_temporal.domain import lifecycle, rules, schema, source
from first_temporal.domain.errors import BadInput
from first_temporal.domain.rates import Rates
from first_temporal.tests.oracle import Oracle, identity

DAYS = 60  # about 120 calendar days: purchases age out of the 90-day window
BUSY = Rates(repeat_share=0.5, cancellation=0.2, return_for_refund=0.1, return_for_no_refund=0.1)


def rows(frame: pl.DataFrame, table: str) -> list[tuple[object, ...]]:
    return frame.select(schema.COLUMNS[table]).rows()


class Columnar:
    """The domain, one batch of `days` days at a time, its tables kept as frames."""

    def __init__(self, seed: int, rates: Rates) -> None:
        self.seed, self.rates = seed, rates
        self.previous: date | None = None
        self.last_customer_id, self.last_transaction_id = schema.FIRST_CUSTOMER_ID - 1, 0
        self.tables: dict[str, list[pl.DataFrame]] = {t: [] for t in schema.BATCH_TABLES}

    def batch(self, days: int = 1, purchases: int | None = None) -> list[source.Day]:
        plan = source.plan_days(
            self.seed,
            self.rates,
            self.previous,
            self.last_customer_id,
            self.last_transaction_id,
            days,
            purchases,
        )
        bought = source.purchases(self.seed, self.rates, plan)
        assert rules.purchase_problems(bought, plan[0].first_transaction_id) == []
        self.tables[schema.PURCHASE].append(bought)
        self.tables[schema.CUSTOMER].append(source.new_customers(bought))
        since = plan[0].date - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
        open_purchases = pl.concat(self.tables[schema.PURCHASE]).filter(
            pl.col("purchase_date") >= since
        )
        deliveries, disputes = lifecycle.events(
            self.seed,
            self.rates,
            self.previous,
            [d.date for d in plan],
            open_purchases.select(lifecycle.OPEN_COLUMNS),
        )
        assert rules.event_problems(deliveries, disputes) == []
        self.tables[schema.DELIVERY].append(deliveries)
        self.tables[schema.DISPUTE].append(disputes)
        self.previous = plan[-1].date
        self.last_customer_id += sum(d.new_customers(self.rates) for d in plan)
        self.last_transaction_id += sum(d.purchases for d in plan)
        return plan

    def rows(self, table: str) -> list[tuple[object, ...]]:
        return rows(pl.concat(self.tables[table]), table)


def oracle_rows(oracle: Oracle) -> dict[str, list[tuple[object, ...]]]:
    return {
        schema.PURCHASE: oracle.purchases,
        schema.CUSTOMER: oracle.customers,
        schema.DISPUTE: oracle.disputes,
        schema.DELIVERY: oracle.deliveries,
    }


@pytest.mark.parametrize(("seed", "rates"), [(1, Rates()), (2, Rates()), (3, BUSY)])
def test_day_by_day_the_domain_gives_the_oracles_rows(seed: int, rates: Rates):
    oracle, columnar = Oracle(seed, rates), Columnar(seed, rates)
    for _ in range(DAYS):
        day = oracle.day()
        [planned] = columnar.batch()
        assert planned.date == day
        for table, expected in oracle_rows(oracle).items():
            assert columnar.rows(table) == expected, (table, day)
    assert len(oracle.disputes) > 10 and len(oracle.deliveries) > 300  # events were compared
    kinds = {d[3] for d in oracle.disputes}
    assert kinds == set(schema.DISPUTE_TYPES)
    assert any(p[4] == schema.REPEAT for p in oracle.purchases)


@pytest.mark.parametrize("seed", [4, 5])
def test_a_span_of_days_gives_the_same_rows_as_the_days_one_by_one(seed: int):
    oracle, span = Oracle(seed, BUSY), Columnar(seed, BUSY)
    for _ in range(10):
        oracle.day()
    span.batch(10)
    for _ in range(60):
        oracle.day()
    plan = span.batch(60)  # longer than the 90-day window
    assert (plan[-1].date - plan[0].date).days > schema.DISPUTE_WINDOW_DAYS
    assert plan[-1].date == oracle.previous
    for table, expected in oracle_rows(oracle).items():
        assert span.rows(table) == expected, table


def test_a_volume_override_and_a_day_in_parts_give_the_oracles_rows():
    oracle, columnar = Oracle(6), Columnar(6, Rates())
    for _ in range(3):
        oracle.day()
        columnar.batch()
    before = len(oracle.purchases)
    oracle.day(count=2500)
    assert len(oracle.purchases) - before == 2500
    plan = source.plan_days(
        6,
        Rates(),
        columnar.previous,
        columnar.last_customer_id,
        columnar.last_transaction_id,
        1,
        2500,
    )
    parts = [
        source.purchases(6, Rates(), plan, low, min(low + 700, 2500)) for low in range(0, 2500, 700)
    ]
    assert [p.height for p in parts] == [700, 700, 700, 400]
    for part in parts:
        first = part["transaction_id"][0]
        assert rules.purchase_problems(part, first) == []
    whole = source.purchases(6, Rates(), plan)
    assert pl.concat(parts).equals(whole)
    assert rows(whole, schema.PURCHASE) == oracle.purchases[before:]


def test_every_purchase_carries_its_customers_identity():
    oracle = Oracle(7, BUSY)
    for _ in range(20):
        oracle.day()
    repeats = [p for p in oracle.purchases if p[4] == schema.REPEAT]
    assert len(repeats) > 50
    first_purchase = {c[0]: c[1:4] for c in oracle.customers}
    for p in oracle.purchases:
        assert isinstance(p[0], int)
        assert p[1:4] == identity(7, p[0]) == first_purchase[p[0]]


# -- the rules refuse broken frames ----------------------------------------------------


@pytest.fixture(scope="module")
def busy() -> Columnar:
    columnar = Columnar(8, BUSY)
    for _ in range(12):
        columnar.batch()
    return columnar


def last_day(busy: Columnar, table: str) -> pl.DataFrame:
    return busy.tables[table][-1]


def test_clean_frames_pass_every_rule(busy: Columnar):
    bought = last_day(busy, schema.PURCHASE)
    assert rules.purchase_problems(bought, bought["transaction_id"][0]) == []
    deliveries, disputes = last_day(busy, schema.DELIVERY), last_day(busy, schema.DISPUTE)
    assert deliveries.height and disputes.height
    assert rules.event_problems(deliveries, disputes) == []
    rules.refuse("batch 12", [])  # no problem: no refusal


def test_purchases_with_a_gap_in_transaction_ids_are_refused(busy: Columnar):
    bought = last_day(busy, schema.PURCHASE)
    first = bought["transaction_id"][0]
    gap = bought.with_columns(
        pl.when(pl.int_range(pl.len()) >= 5)
        .then(pl.col("transaction_id") + 1)
        .otherwise(pl.col("transaction_id"))
        .alias("transaction_id")
    )
    problems = rules.purchase_problems(gap, first)
    assert problems == [f"{bought.height - 5} purchases: transaction_id not contiguous"]
    assert rules.purchase_problems(bought, first + 1) != []  # not continuing the checkpoint
    with pytest.raises(BadInput, match=r"batch 12 breaks the table rules.*not contiguous"):
        rules.refuse("batch 12", problems)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (pl.col("delivery_date") + timedelta(days=9), "delivery not 1–5 days after purchase"),
        (pl.col("refund_till") + timedelta(days=1), "refund_till not purchase_date + 30 days"),
        (pl.lit(6).alias("product_id"), "unknown product_id"),
        (pl.lit("Walk-in").alias("checkout_type"), "bad checkout_type"),
        (pl.col("last_customer_id") + 1000, "new customer_id already taken"),
    ],
)
def test_purchases_breaking_a_business_rule_are_refused(busy: Columnar, change: pl.Expr, rule: str):
    bought = last_day(busy, schema.PURCHASE)
    broken = bought.with_columns(change)
    problems = rules.purchase_problems(broken, bought["transaction_id"][0])
    assert any(p.endswith(f"purchases: {rule}") for p in problems), problems


def test_a_repeat_buyer_who_never_bought_is_refused(busy: Columnar):
    bought = last_day(busy, schema.PURCHASE)
    broken = bought.with_columns(
        pl.when(pl.col("checkout_type") == schema.REPEAT)
        .then(pl.col("last_customer_id") + 1)
        .otherwise(pl.col("customer_id"))
        .alias("customer_id")
    )
    problems = rules.purchase_problems(broken, bought["transaction_id"][0])
    assert any("repeat customer who never bought before" in p for p in problems), problems


def test_events_with_a_cancellation_lacking_its_cancelled_row_are_refused(busy: Columnar):
    deliveries, disputes = last_day(busy, schema.DELIVERY), last_day(busy, schema.DISPUTE)
    cancelled = deliveries.filter(pl.col("status") == schema.CANCELLED)
    assert cancelled.height
    lacking = deliveries.filter(pl.col("transaction_id") != cancelled["transaction_id"][0])
    assert rules.event_problems(lacking, disputes) == [
        "1 events: cancellation without a cancelled delivery row (or the reverse)"
    ]
    twice = pl.concat([disputes, disputes.head(1)])
    assert "1 events: a transaction disputed twice" in rules.event_problems(deliveries, twice)
    unknown = disputes.with_columns(pl.lit("chargeback").alias("dispute_type"))
    assert any("unknown dispute_type" in p for p in rules.event_problems(deliveries, unknown))
    early = deliveries.with_columns(pl.col("batch_day") - 10)
    assert any("after the batch date" in p for p in rules.event_problems(early, disputes))


def test_batch_dates_off_the_calendar_are_refused():
    plan = source.plan_days(9, Rates(), None, schema.FIRST_CUSTOMER_ID - 1, 0, 3)
    assert rules.date_problems(None, plan) == []
    assert rules.date_problems(plan[0].date, plan[1:]) == []
    late = [replace(plan[0], date=date(2020, 7, 4))]
    assert rules.date_problems(None, late) == ["first batch date 2020-07-04 is not 2020-07-03"]
    gap = [plan[0], replace(plan[1], date=plan[0].date + timedelta(days=4))]
    assert len(rules.date_problems(None, gap)) == 1
    empty = [replace(plan[0], purchases=0)]
    assert rules.date_problems(None, empty) == [f"no purchases on {plan[0].date}"]

"""The rules a batch's own rows must obey, checked before it commits.

A bug in the generator must fail the batch loudly instead of corrupting the tables.
These checks cost as much as the batch, never as much as the history.
"""

from __future__ import annotations

from datetime import date, timedelta

from first_temporal import schema
from first_temporal.activities.source import customer_identity
from first_temporal.errors import BadInput
from first_temporal.jobs import LoadJob


def check_batch(job: LoadJob) -> None:
    refuse(job.checkpoint.batch_number + 1, job.batch_date, batch_problems(job))


def refuse(batch_number: int, batch_date: str, problems: list[str]) -> None:
    """BadInput naming the first few broken rules, when there are any."""
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise BadInput(
            f"batch {batch_number} ({batch_date}) breaks the"
            f" table rules, nothing was written: {shown}{more}"
        )


def batch_problems(job: LoadJob) -> list[str]:
    cp, seed = job.checkpoint, job.pipeline.seed
    day = date.fromisoformat(job.batch_date)
    out: list[str] = []
    if cp.previous is None:
        if job.batch_date != schema.FIRST_BATCH_DATE:
            out.append(f"first batch date {job.batch_date} is not {schema.FIRST_BATCH_DATE}")
    elif not schema.MIN_BATCH_STEP_DAYS <= (day - cp.previous).days <= schema.MAX_BATCH_STEP_DAYS:
        out.append(f"batch date {job.batch_date} is not 1–3 days after {cp.previous_date}")
    if not job.purchases and not job.chunks:
        out.append("no purchases")
    if job.chunks:  # a bulk day: its chunks checked their own rows (activities.bulk)
        return out + event_problems(job)
    next_customer = cp.last_customer_id + 1
    for i, p in enumerate(job.purchases):
        where = f"purchase transaction_id={p.transaction_id}"
        if p.transaction_id != cp.last_transaction_id + 1 + i:
            out.append(f"{where}: expected transaction_id {cp.last_transaction_id + 1 + i}")
        if p.purchase_date != job.batch_date:
            out.append(f"{where}: purchase_date {p.purchase_date} is not the batch date")
        delivery_days = (date.fromisoformat(p.delivery_date) - day).days
        if not schema.MIN_DELIVERY_DAYS <= delivery_days <= schema.MAX_DELIVERY_DAYS:
            out.append(f"{where}: delivery {delivery_days} days after purchase (must be 1–5)")
        if p.refund_till != (day + timedelta(days=schema.REFUND_WINDOW_DAYS)).isoformat():
            out.append(f"{where}: refund_till {p.refund_till} is not purchase_date + 30 days")
        if p.product_id not in schema.PRODUCT_IDS:
            out.append(f"{where}: unknown product_id {p.product_id}")
        if p.checkout_type == schema.FIRST_TIME:
            if p.customer_id != next_customer:
                out.append(f"{where}: new customer_id {p.customer_id}, expected {next_customer}")
            next_customer = p.customer_id + 1
        elif p.checkout_type == schema.REPEAT:
            if not schema.FIRST_CUSTOMER_ID <= p.customer_id <= cp.last_customer_id:
                out.append(f"{where}: repeat customer {p.customer_id} never bought before")
        else:
            out.append(f"{where}: checkout_type {p.checkout_type!r} is not allowed")
        if (p.first_name, p.last_name, p.email_address) != customer_identity(seed, p.customer_id):
            out.append(f"{where}: name/email differ from customer {p.customer_id}'s")
    firsts = [p for p in job.purchases if p.checkout_type == schema.FIRST_TIME]
    if [(c.customer_id, c.email_address, c.first_purchase_date) for c in job.customers] != [
        (p.customer_id, p.email_address, p.purchase_date) for p in firsts
    ]:
        out.append("customer rows are not exactly the day's first-time buyers")
    return out + event_problems(job)


def event_problems(job: LoadJob) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    for d in job.disputes:
        if d.dispute_type not in schema.DISPUTE_TYPES:
            out.append(f"dispute transaction_id={d.transaction_id}: bad type {d.dispute_type!r}")
        if d.dispute_date != job.batch_date:
            out.append(f"dispute transaction_id={d.transaction_id}: dated {d.dispute_date}")
        if d.transaction_id in seen:
            out.append(f"dispute transaction_id={d.transaction_id}: twice in one batch")
        seen.add(d.transaction_id)
    cancelled = {d.transaction_id for d in job.disputes if d.dispute_type == schema.CANCELLATION}
    statuses: set[int] = set()
    for row in job.deliveries:
        where = f"delivery transaction_id={row.transaction_id}"
        if row.transaction_id in statuses:
            out.append(f"{where}: two status rows in one batch")
        statuses.add(row.transaction_id)
        if row.status == schema.CANCELLED:
            if row.transaction_id not in cancelled or row.status_date != job.batch_date:
                out.append(f"{where}: cancelled without a cancellation dispute today")
        elif row.status == schema.DELIVERED:
            if row.status_date > job.batch_date:
                out.append(f"{where}: delivered in the future ({row.status_date})")
        else:
            out.append(f"{where}: status {row.status!r} is not allowed")
    if cancelled - statuses:
        out.append(
            f"cancellations without a cancelled delivery row: {sorted(cancelled - statuses)}"
        )
    return out

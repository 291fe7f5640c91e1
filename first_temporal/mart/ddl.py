"""The mart's star schema and analysis views (DuckDB SQL).

Surrogate keys are deterministic (date_key = YYYYMMDD, customer_key from the contiguous
customer ids, product_key = product_id), so a batch never looks a key up in a dimension
and a rebuild produces the same keys as the incremental path.

The facts and dim_customer declare no primary key. DuckDB keeps an index entry for every
row a transaction inserts into a keyed table, in memory it cannot spill, so a bulk day's
apply needed memory in proportion to the day. Their keys are unique by construction
instead: an apply inserts only the bytes past the offsets it commits with its rows, and
reconcile counts duplicates. The small tables that are upserted keep theirs.
"""

from __future__ import annotations

from first_temporal.domain import schema

CUSTOMER_KEY_BASE = schema.FIRST_CUSTOMER_ID - 1  # customer_key = customer_id - base (1..)

TABLES = """
CREATE TABLE mart_state (
    id INTEGER PRIMARY KEY,
    seed BIGINT NOT NULL,
    batch_number INTEGER NOT NULL,
    previous_date DATE,
    purchase_offset BIGINT NOT NULL,
    customer_offset BIGINT NOT NULL,
    dispute_offset BIGINT NOT NULL,
    delivery_offset BIGINT NOT NULL,
    purchase_rows BIGINT NOT NULL,
    customer_rows BIGINT NOT NULL,
    dispute_rows BIGINT NOT NULL,
    delivery_rows BIGINT NOT NULL,
    tail_digest VARCHAR,
    applied_at TIMESTAMP NOT NULL
);
CREATE TABLE dim_date (
    date_key INTEGER PRIMARY KEY,
    date DATE NOT NULL,
    year SMALLINT NOT NULL,
    quarter TINYINT NOT NULL,
    month TINYINT NOT NULL,
    month_name VARCHAR NOT NULL,
    year_month VARCHAR NOT NULL,
    week_start DATE NOT NULL,
    day_of_week TINYINT NOT NULL,
    day_name VARCHAR NOT NULL,
    is_weekend BOOLEAN NOT NULL
);
CREATE TABLE dim_product (
    product_key INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL,
    year SMALLINT NOT NULL,
    make VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    exterior_color VARCHAR NOT NULL,
    interior_color VARCHAR NOT NULL,
    colours VARCHAR NOT NULL,
    cost DECIMAL(12, 2) NOT NULL
);
CREATE TABLE dim_customer (
    customer_key INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    first_name VARCHAR NOT NULL,
    last_name VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    first_purchase_date DATE NOT NULL,
    first_purchase_date_key INTEGER NOT NULL
);
CREATE TABLE dim_dispute_type (
    dispute_type_key TINYINT PRIMARY KEY,
    dispute_type VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    refunds_sale BOOLEAN NOT NULL
);
CREATE TABLE fact_sales (
    transaction_id BIGINT NOT NULL,
    date_key INTEGER NOT NULL,
    customer_key INTEGER NOT NULL,
    product_key INTEGER NOT NULL,
    sale_amount DECIMAL(12, 2) NOT NULL,
    checkout_type VARCHAR NOT NULL
);
CREATE TABLE fact_dispute (
    transaction_id BIGINT NOT NULL,
    dispute_type VARCHAR NOT NULL,
    dispute_type_key TINYINT NOT NULL,
    date_key INTEGER NOT NULL,
    purchase_date_key INTEGER NOT NULL,
    customer_key INTEGER NOT NULL,
    product_key INTEGER NOT NULL,
    refund_amount DECIMAL(12, 2) NOT NULL,
    days_after_purchase INTEGER NOT NULL
);
CREATE TABLE fact_delivery (
    transaction_id BIGINT NOT NULL,
    customer_key INTEGER NOT NULL,
    product_key INTEGER NOT NULL,
    purchase_date_key INTEGER NOT NULL,
    due_date_key INTEGER NOT NULL,
    delivered_date_key INTEGER,
    cancelled_date_key INTEGER,
    purchase_date DATE NOT NULL,
    due_date DATE NOT NULL,
    delivered_date DATE,
    cancelled_date DATE,
    status VARCHAR NOT NULL,
    days_to_deliver INTEGER
);
"""

DISPUTE_TYPES: tuple[tuple[int, str, str, bool], ...] = (
    (1, schema.CANCELLATION, "cancelled before delivery", False),
    (2, schema.RETURN_FOR_REFUND, "returned within the refund window", True),
    (3, schema.RETURN_FOR_NO_REFUND, "returned after the refund window", False),
)
DISPUTE_TYPE_KEY = {name: key for key, name, _, _ in DISPUTE_TYPES}

VIEWS = """
CREATE VIEW v_sales AS
SELECT s.transaction_id, d.date, d.year, d.month, d.year_month, d.week_start,
       p.make, p.model, s.checkout_type, s.sale_amount, s.customer_key
FROM fact_sales s
JOIN dim_date d USING (date_key)
JOIN dim_product p USING (product_key);

CREATE VIEW v_revenue_by_make_month AS
SELECT year_month, make, count(*) AS sales, sum(sale_amount) AS revenue
FROM v_sales GROUP BY year_month, make;

CREATE VIEW v_revenue_by_make AS
SELECT make, count(*) AS sales, sum(sale_amount) AS revenue,
       sum(sale_amount) / sum(sum(sale_amount)) OVER () AS revenue_share
FROM v_sales GROUP BY make;

CREATE VIEW v_daily_activity AS
WITH sales AS (
    SELECT date_key, count(*) AS sales, sum(sale_amount) AS revenue
    FROM fact_sales GROUP BY date_key
), disputes AS (
    SELECT date_key, count(*) AS disputes, sum(refund_amount) AS refunds
    FROM fact_dispute GROUP BY date_key
)
SELECT d.date, d.week_start, d.year_month,
       coalesce(s.sales, 0) AS sales, coalesce(s.revenue, 0) AS revenue,
       coalesce(x.disputes, 0) AS disputes, coalesce(x.refunds, 0) AS refunds
FROM dim_date d
LEFT JOIN sales s USING (date_key)
LEFT JOIN disputes x USING (date_key);

CREATE VIEW v_dispute_rate_by_type AS
WITH last AS (SELECT max(previous_date) AS day FROM mart_state),
sales AS (
    SELECT count(*) AS purchases,
           count(*) FILTER (WHERE d.date <= (SELECT day FROM last) - INTERVAL 90 DAY) AS matured
    FROM fact_sales s JOIN dim_date d USING (date_key)
),
disputes AS (
    SELECT f.dispute_type_key, count(*) AS disputes, sum(f.refund_amount) AS refunds,
           count(*) FILTER (WHERE d.date <= (SELECT day FROM last) - INTERVAL 90 DAY)
               AS matured_disputes
    FROM fact_dispute f JOIN dim_date d ON d.date_key = f.purchase_date_key
    GROUP BY f.dispute_type_key
)
SELECT t.dispute_type, coalesce(x.disputes, 0) AS disputes, s.purchases,
       coalesce(x.disputes, 0) / nullif(s.purchases, 0) AS dispute_rate,
       coalesce(x.matured_disputes, 0) / nullif(s.matured, 0) AS matured_dispute_rate,
       coalesce(x.refunds, 0) AS refunds
FROM dim_dispute_type t CROSS JOIN sales s
LEFT JOIN disputes x USING (dispute_type_key);

CREATE VIEW v_repeat_customers AS
WITH per_customer AS (SELECT customer_key, count(*) AS purchases FROM fact_sales GROUP BY 1)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE purchases > 1) AS repeat_customers,
       count(*) FILTER (WHERE purchases > 1) / nullif(count(*), 0) AS repeat_customer_share,
       (SELECT count(*) FILTER (WHERE checkout_type = 'Repeat Customer')
               / nullif(count(*), 0) FROM fact_sales) AS repeat_purchase_share
FROM per_customer;

CREATE VIEW v_delivery_status AS
SELECT status, count(*) AS purchases, avg(days_to_deliver) AS mean_days_to_deliver
FROM fact_delivery GROUP BY status;
"""

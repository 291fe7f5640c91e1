"""The tables' contract: names, column order and the product catalogue.

Every writer and reader takes its headers from here, so a column can never be
spelled two ways.
"""

from __future__ import annotations

CHECKPOINT_FILE = "placeholder.csv"

PURCHASE = "purchase"
CUSTOMER = "customer"
DISPUTE = "dispute"
DELIVERY = "delivery"
PRODUCT = "product"

# Tables a batch appends to, in the order a batch writes them.
BATCH_TABLES: tuple[str, ...] = (PURCHASE, CUSTOMER, DISPUTE, DELIVERY)

COLUMNS: dict[str, tuple[str, ...]] = {
    PURCHASE: (
        "customer_id",
        "first_name",
        "last_name",
        "email_address",
        "checkout_type",
        "transaction_id",
        "product_id",
        "purchase_date",
        "delivery_date",
        "refund_till",
        "delivered",
    ),
    CUSTOMER: ("customer_id", "first_name", "last_name", "email_address", "first_purchase_date"),
    DISPUTE: ("customer_id", "transaction_id", "product_id", "dispute_type", "dispute_date"),
    DELIVERY: ("transaction_id", "status", "status_date"),
    PRODUCT: ("product_id", "year", "make", "model", "exterior_color", "interior_color", "cost"),
}

# Hive-style partition column of each batch table (used by the S3 layout and Glue).
PARTITION_COLUMN: dict[str, str] = {
    PURCHASE: "purchase_date",
    CUSTOMER: "first_purchase_date",
    DISPUTE: "dispute_date",
    DELIVERY: "status_date",
}

FIRST_TIME = "First Time Customer"
REPEAT = "Repeat Customer"
CHECKOUT_TYPES = (FIRST_TIME, REPEAT)

CANCELLATION = "cancellation"
RETURN_FOR_REFUND = "return_for_refund"
RETURN_FOR_NO_REFUND = "return_for_no_refund"
DISPUTE_TYPES = (CANCELLATION, RETURN_FOR_REFUND, RETURN_FOR_NO_REFUND)

DELIVERED = "delivered"
CANCELLED = "cancelled"
DELIVERY_STATUSES = (DELIVERED, CANCELLED)

FIRST_CUSTOMER_ID = 100000
FIRST_TRANSACTION_ID = 1
FIRST_BATCH_DATE = "2020-07-03"
DATE_FORMAT = "%Y-%m-%d"  # every date column (ISO 8601)
REFUND_WINDOW_DAYS = 30
DISPUTE_WINDOW_DAYS = 90
MIN_DELIVERY_DAYS, MAX_DELIVERY_DAYS = 1, 5
MIN_BATCH_STEP_DAYS, MAX_BATCH_STEP_DAYS = 1, 3

# Costs are written without a thousands separator so the file needs no quoting.
CATALOGUE: tuple[tuple[int, int, str, str, str, str, str], ...] = (
    (1, 2024, "Ram", "1500 TRX", "Black", "Black", "125215.00"),
    (2, 2024, "Alfa Romeo", "Stelvio Quadrifoglio", "Black", "Black", "92237.00"),
    (3, 2024, "Porsche", "Cayenne Turbo GT", "Black", "Red & Black", "215617.00"),
    (4, 2024, "Aston Martin", "DBX 707", "Black", "Red", "265617.00"),
    (5, 2024, "Audi", "RS Q8", "Black", "Red & Black", "132327.00"),
)
PRODUCT_IDS = tuple(row[0] for row in CATALOGUE)
PRODUCT_COST: dict[int, float] = {row[0]: float(row[6]) for row in CATALOGUE}


def header_line(table: str) -> bytes:
    return (",".join(COLUMNS[table]) + "\n").encode()


def catalogue_bytes() -> bytes:
    lines = [",".join(str(v) for v in row) for row in CATALOGUE]
    return header_line(PRODUCT) + ("\n".join(lines) + "\n").encode()

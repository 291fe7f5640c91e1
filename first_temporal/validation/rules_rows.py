"""Row-level rules: header, field count, and each field's type; the product catalogue.

Also the runner every SQL rule goes through: a rule is a query yielding (line, msg);
all matches are counted, only the first few (by line) are fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from first_temporal.domain import schema
from first_temporal.validation.report import KEEP_PER_RULE, Report, Violation
from first_temporal.validation.table_load import KINDS, describe, field_sql, file_name


@dataclass
class Ctx:
    con: duckdb.DuckDBPyConnection
    report: Report
    previous_date: str  # the checkpoint's, or the tables' last purchase date
    pending: list[tuple[str, str, str | None, str]] = field(default_factory=list)


def run(ctx: Ctx, rule: str, table: str, column: str | None, sql: str) -> None:
    """Queue one rule query (columns: line, msg); `flush` runs them all in one statement."""
    ctx.pending.append((rule, table, column, sql))


def flush(ctx: Ctx) -> None:
    """Run the queued rules: the first few matches by line, and a full count only when
    there are more (a clean table costs one cheap query per rule)."""
    for rule, table, column, sql in ctx.pending:
        query = f"SELECT line, msg FROM ({sql}) WHERE msg IS NOT NULL"
        rows = ctx.con.execute(f"{query} ORDER BY line LIMIT {KEEP_PER_RULE}").fetchall()
        if not rows:
            continue
        total = len(rows)
        if total == KEEP_PER_RULE:
            counted = ctx.con.execute(f"SELECT count(*) FROM ({query})").fetchone()
            total = int(counted[0]) if counted else total
        found = [Violation(rule, file_name(table), int(r[0]), column, str(r[1])) for r in rows]
        ctx.report.add(found, total)
    ctx.pending.clear()


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def row_rules(ctx: Ctx, table: str) -> None:
    kinds = KINDS[table]
    n = len(kinds)
    expected = ",".join(schema.COLUMNS[table])
    header = ctx.con.execute(f"SELECT text FROM {table}_header").fetchall()
    if not header:
        ctx.report.add_one("header", file_name(table), 1, None, f"empty file, expected {expected}")
    elif header[0][0] != expected:
        ctx.report.add_one(
            "header", file_name(table), 1, None, f"{header[0][0]!r} is not {expected!r}"
        )
    run(
        ctx,
        "fields",
        table,
        None,
        f"""SELECT line, CASE WHEN text IS NULL THEN 'blank line'
                ELSE 'expected {n} fields, found ' || nf END AS msg
            FROM {table} WHERE nf != {n}""",
    )
    _type_rules(ctx, table)


def _type_rules(ctx: Ctx, table: str) -> None:
    """One counting pass over all columns; details only for the columns that fail."""
    kinds = KINDS[table]
    n = len(kinds)
    counts = ", ".join(f"count(*) FILTER ({column} IS NULL)" for column in kinds)
    found = ctx.con.execute(f"SELECT {counts} FROM {table} WHERE nf = {n}").fetchone()
    assert found is not None
    for (column, kind), bad in zip(kinds.items(), found, strict=True):
        if not bad:
            continue
        rows = ctx.con.execute(
            f"""SELECT line, '''' || {field_sql(table, column)} || ''' is not '
                    || {lit(describe(kind))}
                FROM {table} WHERE nf = {n} AND {column} IS NULL
                ORDER BY line LIMIT {KEEP_PER_RULE}"""
        ).fetchall()
        found_rows = [Violation("type", file_name(table), r[0], column, r[1]) for r in rows]
        ctx.report.add(found_rows, int(bad))


def product_rules(ctx: Ctx) -> None:
    """product.csv is fixed: exactly the catalogue, line by line."""
    expected = [",".join(str(v) for v in row) for row in schema.CATALOGUE]
    found = ctx.con.execute(
        f"SELECT line, text FROM {schema.PRODUCT} ORDER BY line LIMIT {len(expected) + 1}"
    ).fetchall()
    name = file_name(schema.PRODUCT)
    for i, want in enumerate(expected):
        line = i + 2
        if i >= len(found):
            ctx.report.add_one("catalogue", name, line, None, f"missing catalogue row {want!r}")
        elif found[i][1] != want:
            ctx.report.add_one("catalogue", name, line, None, f"{found[i][1]!r} is not {want!r}")
    extra = ctx.con.execute(
        f"SELECT count(*), min(line) FROM {schema.PRODUCT} WHERE line > {len(expected) + 1}"
    ).fetchone()
    if extra and extra[0]:
        ctx.report.add_one(
            "catalogue", name, int(extra[1]), None, f"{extra[0]} rows beyond the catalogue"
        )

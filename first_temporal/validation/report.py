"""What the table validator found, and how it is shown to a person.

Every violation is counted, but only the first few of each rule are kept, so a
broken million-row table costs neither memory nor a flooded terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

KEEP_PER_RULE = 100  # kept in the Report (tests and callers look at these)
SHOW_PER_RULE = 20  # printed per rule by the CLI


@dataclass(frozen=True)
class Violation:
    rule: str
    file: str
    line: int | None  # 1-based, header = line 1; None for whole-file facts
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.message} [{self.rule}]"


@dataclass
class Report:
    data_dir: str
    violations: list[Violation] = field(default_factory=list)  # first KEEP_PER_RULE per group
    counts: dict[tuple[str, str, str | None], int] = field(default_factory=dict)  # all of them
    warnings: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # validated data rows per table
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return self.total == 0

    def rules(self) -> set[str]:
        return {rule for rule, _, _ in self.counts}

    def add(self, found: Iterable[Violation], total: int | None = None) -> None:
        """Record violations of one group (same rule, file, column); `total` if more exist."""
        kept = list(found)
        if not kept and not total:
            return
        key = (kept[0].rule, kept[0].file, kept[0].column) if kept else None
        if key is None:
            return
        self.violations.extend(kept[:KEEP_PER_RULE])
        self.counts[key] = self.counts.get(key, 0) + max(total or 0, len(kept))

    def add_one(self, rule: str, file: str, line: int | None, column: str | None, msg: str) -> None:
        self.add([Violation(rule, file, line, column, msg)])

    def to_json(self, show: int = SHOW_PER_RULE) -> dict[str, object]:
        """`validate --json`: stable names (README); violations capped per group like the
        text, `violations_total` counting them all."""
        shown: dict[tuple[str, str, str | None], int] = {}
        violations = []
        for v in self.violations:
            key = (v.rule, v.file, v.column)
            shown[key] = shown.get(key, 0) + 1
            if shown[key] <= show:
                violations.append(asdict(v))
        return {
            "data_dir": self.data_dir,
            "clean": self.clean,
            "violations_total": self.total,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
            "violations": violations,
        }

    def find(self, rule: str) -> list[Violation]:
        return [v for v in self.violations if v.rule == rule]

    def summary(self) -> str:
        tables = ", ".join(f"{t} {n} rows" for t, n in self.rows.items())
        if self.clean:
            return f"clean: {len(self.rows)} tables ({tables}) in {self.seconds:.1f} s"
        noun = "violation" if self.total == 1 else "violations"
        return f"{self.total} {noun} in {len(self.rows)} tables ({tables})"

    def lines(self, show: int = SHOW_PER_RULE) -> list[str]:
        """The printable report: warnings, capped violations per group, then the summary."""
        out = [f"warning: {w}" for w in self.warnings]
        groups: dict[tuple[str, str, str | None], list[Violation]] = {}
        for v in self.violations:
            groups.setdefault((v.rule, v.file, v.column), []).append(v)
        for key, found in groups.items():
            found.sort(key=lambda v: v.line or 0)
            out += [str(v) for v in found[:show]]
            more = self.counts[key] - min(show, len(found))
            if more > 0:
                rule, file, column = key
                col = f" column {column}" if column else ""
                out.append(f"  ... and {more} more {rule} violations in {file}{col}")
        out.append(self.summary())
        return out

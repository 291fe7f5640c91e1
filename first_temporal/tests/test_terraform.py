"""Static checks of terraform/ that stand in for `terraform validate` (no providers offline).

What is checked: every .tf file parses (python-hcl2); every var./local./module./data./
resource reference resolves inside its own module; module calls match the child's
variables and outputs; local module sources and file()/archive_file paths exist;
the spec'd shape (schemas, IAM actions, SQS/Lambda wiring) holds; checkov reports
zero failed checks, and every skip carries a written reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "terraform"
TF_FILES = sorted(p for p in TF_ROOT.rglob("*.tf") if ".terraform" not in p.parts)
MODULE_DIRS = sorted({p.parent for p in TF_FILES})
META_ARGS = {"source", "version", "providers", "count", "for_each", "depends_on"}

# A reference may not follow a word char or '.', so "data.aws_x.y" is not also read as a
# resource "aws_x.y", and "each.value.var" is no var reference.
_LEAD = r"(?<![\w.])"
_IDENT = r"[A-Za-z_][\w-]*"
VAR_RE = re.compile(_LEAD + rf"var\.({_IDENT})")
LOCAL_RE = re.compile(_LEAD + rf"local\.({_IDENT})")
MODULE_RE = re.compile(_LEAD + rf"module\.({_IDENT})(?:\.({_IDENT}))?")
DATA_RE = re.compile(_LEAD + rf"data\.({_IDENT})\.({_IDENT})")
FILE_FN_RE = re.compile(
    r"\b(?:file|templatefile|filebase64|filebase64sha256|filesha256|filemd5|fileexists)"
    r"\(\s*\"([^\"]+)\""
)

# The spec: CSV columns in file order and the partition key of each ETL table.
EXPECTED_TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "purchase": (
        "purchase_date",
        [
            ("customer_id", "bigint"),
            ("first_name", "string"),
            ("last_name", "string"),
            ("email_address", "string"),
            ("checkout_type", "string"),
            ("transaction_id", "bigint"),
            ("product_id", "int"),
            ("purchase_date", "date"),
            ("delivery_date", "date"),
            ("refund_till", "date"),
            ("delivered", "string"),
        ],
    ),
    "customer": (
        "first_purchase_date",
        [
            ("customer_id", "bigint"),
            ("first_name", "string"),
            ("last_name", "string"),
            ("email_address", "string"),
            ("first_purchase_date", "date"),
        ],
    ),
    "dispute": (
        "dispute_date",
        [
            ("customer_id", "bigint"),
            ("transaction_id", "bigint"),
            ("product_id", "int"),
            ("dispute_type", "string"),
            ("dispute_date", "date"),
        ],
    ),
    "delivery": (
        "status_date",
        [("transaction_id", "bigint"), ("status", "string"), ("status_date", "date")],
    ),
}


# ----------------------------------------------------------------- parsing


def unquote(text: str) -> str:
    """python-hcl2 8 keeps the quotes of string literals and block labels."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle))


def blocks(doc: dict[str, Any], kind: str) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Yield (labels, body) of each top-level block of one kind (any label depth)."""
    for entry in doc.get(kind, []):
        yield from _labelled(entry, [])


def _labelled(
    node: dict[str, Any], labels: list[str]
) -> Iterator[tuple[list[str], dict[str, Any]]]:
    if node.get("__is_block__"):
        yield labels, node
        return
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _labelled(value, [*labels, unquote(key)])


def strings(node: Any) -> Iterator[str]:
    """Every string leaf of a parsed body (expressions arrive as strings)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def resolve_path(text: str, module_dir: Path) -> Path:
    text = unquote(text).replace("${path.module}", str(module_dir))
    text = text.replace("${path.root}", str(TF_ROOT)).replace("${path.cwd}", str(TF_ROOT))
    return (module_dir / text).resolve()


@dataclass
class Module:
    """Declarations and raw strings of one Terraform module (one directory)."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)


def load_module(path: Path) -> Module:
    mod = Module(path)
    for tf in sorted(path.glob("*.tf")):
        doc = parse(tf)
        for labels, body in blocks(doc, "variable"):
            mod.variables[labels[0]] = body
        for entry in doc.get("locals", []):
            mod.locals |= {k for k in entry if not k.startswith("__")}
        for labels, body in blocks(doc, "module"):
            mod.modules[labels[0]] = body
        for labels, body in blocks(doc, "data"):
            mod.data[(labels[0], labels[1])] = body
        for labels, body in blocks(doc, "resource"):
            mod.resources[(labels[0], labels[1])] = body
        for labels, body in blocks(doc, "output"):
            mod.outputs[labels[0]] = body
        for _, body in blocks(doc, "terraform"):
            for req in body.get("required_providers", []):
                mod.providers |= {k for k in req if not k.startswith("__")}
        mod.texts.extend(strings({k: v for k, v in doc.items() if k != "terraform"}))
    return mod


@cache
def module_at(path: Path) -> Module:
    return load_module(path)


def dangling_references(mod: Module, providers: set[str]) -> list[str]:
    """References in mod that name nothing declared in mod itself."""
    resource_re = re.compile(_LEAD + rf"((?:{'|'.join(sorted(providers))})_[a-z0-9_]+)\.({_IDENT})")
    problems: list[str] = []
    for text in mod.texts:
        problems += [f"var.{n}" for n in VAR_RE.findall(text) if n not in mod.variables]
        problems += [f"local.{n}" for n in LOCAL_RE.findall(text) if n not in mod.locals]
        problems += [f"data.{t}.{n}" for t, n in DATA_RE.findall(text) if (t, n) not in mod.data]
        problems += [
            f"{t}.{n}" for t, n in resource_re.findall(text) if (t, n) not in mod.resources
        ]
        for name, output in MODULE_RE.findall(text):
            if name not in mod.modules:
                problems.append(f"module.{name}")
            elif output:
                child = module_at(resolve_path(mod.modules[name]["source"], mod.path))
                if output not in child.outputs:
                    problems.append(f"module.{name}.{output} (no such output)")
    return sorted(set(problems))


def all_providers() -> set[str]:
    return set().union(*(module_at(d).providers for d in MODULE_DIRS))


# ------------------------------------------------------------------- tests


def test_terraform_tree_exists() -> None:
    assert (TF_ROOT / "main.tf").is_file()
    assert {d.name for d in MODULE_DIRS} >= {"terraform", "s3", "sqs", "lambda", "glue"}


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TF_ROOT)))
def test_tf_file_parses(path: Path) -> None:
    assert isinstance(parse(path), dict)


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_references_resolve_within_module(module_dir: Path) -> None:
    mod = module_at(module_dir)
    assert mod.texts, "module has no expressions at all?"
    assert dangling_references(mod, all_providers()) == []


def test_reference_scanner_catches_dangling_names(tmp_path: Path) -> None:
    """Guard against a scanner that silently matches nothing."""
    (tmp_path / "main.tf").write_text(
        'variable "ok" {\n  type = string\n}\n'
        'locals {\n  a = "${var.ok}-${var.missing}"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = local.nope\n}\n'
        'output "o" {\n  value = [aws_s3_bucket.b.id, aws_sqs_queue.q.arn,'
        " data.aws_region.r.name, module.m.x, each.value, path.module]\n}\n"
    )
    found = dangling_references(load_module(tmp_path), {"aws"})
    assert found == [
        "aws_sqs_queue.q",
        "data.aws_region.r",
        "local.nope",
        "module.m",
        "var.missing",
    ]


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_module_calls_match_child_interface(module_dir: Path) -> None:
    for name, call in module_at(module_dir).modules.items():
        source = unquote(call["source"])
        assert source.startswith(("./", "../")), f"module {name}: only local modules expected"
        child_dir = resolve_path(source, module_dir)
        assert child_dir.is_dir() and list(child_dir.glob("*.tf")), f"module {name}: {source}"
        child = module_at(child_dir)
        passed = {k for k in call if k not in META_ARGS and not k.startswith("__")}
        required = {v for v, body in child.variables.items() if "default" not in body}
        assert passed - set(child.variables) == set(), f"module {name}: unknown arguments"
        assert required - passed == set(), f"module {name}: missing required variables"


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_referenced_files_exist(module_dir: Path) -> None:
    mod = module_at(module_dir)
    for text in mod.texts:
        for ref in FILE_FN_RE.findall(text):
            assert resolve_path(ref, module_dir).exists(), ref
    for (dtype, dname), body in mod.data.items():
        if dtype == "archive_file":
            for attr in ("source_dir", "source_file"):
                if attr in body:
                    target = resolve_path(body[attr], module_dir)
                    assert target.exists(), f"data.archive_file.{dname}.{attr}: {target}"


def test_lambda_package_source_is_the_handler_dir() -> None:
    archive = module_at(TF_ROOT).data[("archive_file", "glue_partitions")]
    target = resolve_path(archive["source_dir"], TF_ROOT)
    assert target == TF_ROOT / "lambda" / "glue_partitions"
    assert (target / "handler.py").is_file()


def test_providers_are_pinned() -> None:
    doc = parse(TF_ROOT / "versions.tf")
    ((_, body),) = list(blocks(doc, "terraform"))
    required = body["required_providers"][0]
    for provider in ("aws", "archive"):
        assert re.search(r"\d", required[provider]["version"]), provider
    assert "required_version" in body


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO)))
def test_variables_and_outputs_are_documented(module_dir: Path) -> None:
    mod = module_at(module_dir)
    for name, body in mod.variables.items():
        assert unquote(body.get("description", "")).strip(), f"var.{name} has no description"
        if body.get("type") != "bool":
            assert body.get("validation"), f"var.{name} has no validation block"
    for name, body in mod.outputs.items():
        assert unquote(body.get("description", "")).strip(), f"output {name} has no description"


def test_etl_table_schemas_match_spec() -> None:
    (tables,) = [e["etl_tables"] for e in parse(TF_ROOT / "main.tf")["locals"] if "etl_tables" in e]
    actual = {
        name: (
            unquote(t["partition_key"]),
            [(unquote(c["name"]), unquote(c["type"])) for c in t["columns"]],
        )
        for name, t in tables.items()
    }
    assert actual == EXPECTED_TABLES


def test_glue_tables_are_partitioned_csv_under_the_prefix() -> None:
    glue = module_at(TF_ROOT / "modules" / "glue")
    table = glue.resources[("aws_glue_catalog_table", "this")]
    assert table["partition_keys"][0]["name"] == "${each.value.partition_key}"
    descriptor = table["storage_descriptor"][0]
    assert (
        unquote(descriptor["location"]) == "s3://${var.bucket_name}/${var.data_prefix}/${each.key}/"
    )
    serde = descriptor["ser_de_info"][0]
    assert "LazySimpleSerDe" in serde["serialization_library"]
    assert unquote(serde["parameters"]['"skip.header.line.count"']) == "1"
    assert unquote(table["parameters"]['"skip.header.line.count"']) == "1"


def test_sqs_visibility_is_six_times_lambda_timeout() -> None:
    sqs_call = module_at(TF_ROOT).modules["sqs"]
    assert sqs_call["visibility_timeout_seconds"] == "${6 * var.lambda_timeout_seconds}"
    lambda_call = module_at(TF_ROOT).modules["lambda"]
    assert lambda_call["timeout_seconds"] == "${var.lambda_timeout_seconds}"


def test_sqs_has_dlq_encryption_and_bucket_only_policy() -> None:
    sqs = module_at(TF_ROOT / "modules" / "sqs")
    for name in ("this", "dlq"):
        assert sqs.resources[("aws_sqs_queue", name)]["sqs_managed_sse_enabled"] is True
    assert "deadLetterTargetArn" in sqs.resources[("aws_sqs_queue", "this")]["redrive_policy"]
    allow = sqs.data[("aws_iam_policy_document", "queue")]["statement"][0]
    assert [unquote(a) for a in allow["actions"]] == ["sqs:SendMessage"]
    conditions = {unquote(c["variable"]): c["values"] for c in allow["condition"]}
    assert conditions["aws:SourceArn"] == ["${var.source_bucket_arn}"]


def test_bucket_notifications_cover_every_table_prefix() -> None:
    root = module_at(TF_ROOT)
    s3_call = root.modules["s3"]
    assert s3_call["notification_prefixes"] == "${local.table_prefixes}"
    (prefixes_expr,) = [
        e["table_prefixes"] for e in parse(TF_ROOT / "main.tf")["locals"] if "table_prefixes" in e
    ]
    assert "${var.data_prefix}/${table}/" in prefixes_expr
    assert "keys(local.etl_tables)" in prefixes_expr
    s3 = module_at(TF_ROOT / "modules" / "s3")
    queue = s3.resources[("aws_s3_bucket_notification", "data")]["dynamic"][0]['"queue"']
    events = [unquote(e) for e in queue["content"][0]["events"]]
    assert events == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]  # removed: a rewind


def test_lambda_wiring_and_least_privilege_role() -> None:
    lam = module_at(TF_ROOT / "modules" / "lambda")
    fn = lam.resources[("aws_lambda_function", "this")]
    runtime = unquote(lam.variables["runtime"]["default"])
    assert re.fullmatch(r"python3\.(\d+)", runtime) and int(runtime.split(".")[1]) >= 12
    assert unquote(fn["handler"]) == "handler.handler"
    assert fn["environment"][0]["variables"]["GLUE_DATABASE"] == "${var.glue_database_name}"
    esm = lam.resources[("aws_lambda_event_source_mapping", "sqs")]
    assert [unquote(t) for t in esm["function_response_types"]] == ["ReportBatchItemFailures"]
    assert esm["event_source_arn"] == "${var.queue_arn}"

    statements = lam.data[("aws_iam_policy_document", "permissions")]["statement"]
    actions = {unquote(a) for s in statements for a in s["actions"]}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "glue:GetTable",
        "glue:BatchCreatePartition",
        "glue:BatchDeletePartition",
        "s3:ListBucket",
    }
    for statement in statements:
        resources = statement["resources"]
        assert all("*" not in unquote(r).replace(":*", "") for r in strings(resources)), resources
    handler = (TF_ROOT / "lambda" / "glue_partitions" / "handler.py").read_text()
    called = {f"glue:{m}" for m in ("GetTable", "BatchCreatePartition", "BatchDeletePartition")}
    assert ".get_table(" in handler and ".batch_create_partition(" in handler
    assert ".batch_delete_partition(" in handler and ".list_objects_v2(" in handler
    assert {a for a in actions if a.startswith("glue:")} == called


def test_terraform_fmt_when_available() -> None:
    """terraform fmt needs no providers; the CLI is optional on dev machines."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform CLI not on PATH; fmt is only checked where it is installed")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-list=true", str(TF_ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


# ----------------------------------------------------------------- checkov


def checkov_binary() -> str:
    """CHECKOV_BIN, else checkov on PATH, else the repo's tool venv (.venv-tools)."""
    candidates = [os.environ.get("CHECKOV_BIN"), shutil.which("checkov")]
    candidates.append(str(REPO / ".venv-tools" / "bin" / "checkov"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "checkov not found: set CHECKOV_BIN or install it, e.g. "
        "`python3 -m venv .venv-tools && .venv-tools/bin/pip install checkov==3.3.30`"
    )


def test_checkov_passes_with_reasoned_skips_only() -> None:
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",  # no Prisma Cloud download
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",  # no PyPI version check
        "LOG_LEVEL": "WARNING",
    }
    env.pop("BC_API_KEY", None)
    result = subprocess.run(
        [checkov_binary(), "--config-file", str(REPO / ".checkov.yaml"), "-o", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 50, summary
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) >= 20, (
            f"{skipped['check_id']} on {skipped['resource']}: {reason!r}"
        )

locals {
  glue_arn_prefix = "arn:${var.partition}:glue:${var.region}:${var.glue_catalog_id}"
  # Glue checks BatchCreatePartition/GetTable against catalog, database and table.
  glue_resources = concat(
    ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:database/${var.glue_database_name}"],
    [for t in var.glue_table_names : "${local.glue_arn_prefix}:table/${var.glue_database_name}/${t}"],
  )
}

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.glue_catalog_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.function_name}-role"
  description        = "Least-privilege role of ${var.function_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Exactly the calls the function (and its SQS event source mapping) makes.
data "aws_iam_policy_document" "permissions" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ConsumeNotificationQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "RegisterGluePartitions"
    effect    = "Allow"
    actions   = ["glue:GetTable", "glue:BatchCreatePartition", "glue:BatchDeletePartition"]
    resources = local.glue_resources
  }

  # After an object is removed (a rewind), whether its partition still holds any.
  statement {
    sid       = "FindEmptiedPartitions"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for prefix in var.data_prefixes : "${prefix}*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-permissions"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the SQS event source mapping; failed messages go to the source queue's redrive DLQ, a function DLQ only covers async invokes.
  #checkov:skip=CKV_AWS_117:Only calls the public Glue API; a VPC would add NAT or interface endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_50:X-Ray needs xray:PutTraceSegments on "*", which the least-privilege role deliberately omits; structured logs cover this small function.
  #checkov:skip=CKV_AWS_272:The zip is built locally by archive_file from reviewed source; AWS Signer profiles are out of scope for this stack.
  function_name                  = var.function_name
  description                    = "Keeps Glue partitions in step with ETL objects announced via S3 -> SQS"
  role                           = aws_iam_role.this.arn
  runtime                        = var.runtime
  handler                        = "handler.handler"
  filename                       = var.package_path
  source_code_hash               = var.package_hash
  timeout                        = var.timeout_seconds
  memory_size                    = var.memory_mb
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = {
      GLUE_DATABASE = var.glue_database_name
    }
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  event_source_arn        = var.queue_arn
  function_name           = aws_lambda_function.this.arn
  batch_size              = var.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.reserved_concurrency
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name_prefix   = "${var.project}-${var.environment}"
  bucket_name   = coalesce(var.bucket_name, "${local.name_prefix}-${data.aws_caller_identity.current.account_id}")
  bucket_arn    = "arn:${data.aws_partition.current.partition}:s3:::${local.bucket_name}"
  database_name = coalesce(var.glue_database_name, replace(local.name_prefix, "-", "_"))
  function_name = "${local.name_prefix}-glue-partitions"

  # CSV layout written by the ETL: header row, columns in this order. The
  # partition column is also a column of the file (see README: it is kept in
  # the Glue column list, renamed "<name>_in_file", so positions line up).
  etl_tables = {
    purchase = {
      partition_key = "purchase_date"
      columns = [
        { name = "customer_id", type = "bigint" },
        { name = "first_name", type = "string" },
        { name = "last_name", type = "string" },
        { name = "email_address", type = "string" },
        { name = "checkout_type", type = "string" },
        { name = "transaction_id", type = "bigint" },
        { name = "product_id", type = "int" },
        { name = "purchase_date", type = "date" },
        { name = "delivery_date", type = "date" },
        { name = "refund_till", type = "date" },
        { name = "delivered", type = "string" },
      ]
    }
    customer = {
      partition_key = "first_purchase_date"
      columns = [
        { name = "customer_id", type = "bigint" },
        { name = "first_name", type = "string" },
        { name = "last_name", type = "string" },
        { name = "email_address", type = "string" },
        { name = "first_purchase_date", type = "date" },
      ]
    }
    dispute = {
      partition_key = "dispute_date"
      columns = [
        { name = "customer_id", type = "bigint" },
        { name = "transaction_id", type = "bigint" },
        { name = "product_id", type = "int" },
        { name = "dispute_type", type = "string" },
        { name = "dispute_date", type = "date" },
      ]
    }
    delivery = {
      partition_key = "status_date"
      columns = [
        { name = "transaction_id", type = "bigint" },
        { name = "status", type = "string" },
        { name = "status_date", type = "date" },
      ]
    }
  }

  table_prefixes = [for table in keys(local.etl_tables) : "${var.data_prefix}/${table}/"]
}

module "kms" {
  source = "./modules/kms"

  alias_name     = "alias/${local.name_prefix}-data"
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.name
  log_group_name = "/aws/lambda/${local.function_name}"
}

module "sqs" {
  source = "./modules/sqs"

  queue_name                 = "${local.name_prefix}-s3-object-created"
  source_bucket_arn          = local.bucket_arn
  source_account_id          = data.aws_caller_identity.current.account_id
  visibility_timeout_seconds = 6 * var.lambda_timeout_seconds
  max_receive_count          = var.max_receive_count
}

module "s3" {
  source = "./modules/s3"

  bucket_name                        = local.bucket_name
  kms_key_arn                        = module.kms.key_arn
  notification_queue_arn             = module.sqs.queue_arn
  notification_prefixes              = local.table_prefixes
  notification_suffix                = var.notification_suffix
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  access_log_expiration_days         = var.access_log_expiration_days
  force_destroy                      = var.force_destroy
}

module "glue" {
  source = "./modules/glue"

  database_name = local.database_name
  bucket_name   = module.s3.bucket_name
  data_prefix   = var.data_prefix
  tables        = local.etl_tables
}

data "archive_file" "glue_partitions" {
  type        = "zip"
  source_dir  = "${path.module}/lambda/glue_partitions"
  output_path = "${path.module}/lambda/glue_partitions.zip"
  excludes    = ["__pycache__"]
}

module "lambda" {
  source = "./modules/lambda"

  function_name        = local.function_name
  package_path         = data.archive_file.glue_partitions.output_path
  package_hash         = data.archive_file.glue_partitions.output_base64sha256
  timeout_seconds      = var.lambda_timeout_seconds
  memory_mb            = var.lambda_memory_mb
  reserved_concurrency = var.lambda_reserved_concurrency
  batch_size           = var.sqs_batch_size
  log_retention_days   = var.log_retention_days
  kms_key_arn          = module.kms.key_arn
  queue_arn            = module.sqs.queue_arn
  data_bucket_arn      = module.s3.bucket_arn
  data_prefixes        = local.table_prefixes
  glue_database_name   = module.glue.database_name
  glue_table_names     = values(module.glue.table_names)
  glue_catalog_id      = data.aws_caller_identity.current.account_id
  region               = data.aws_region.current.name
  partition            = data.aws_partition.current.partition
  log_group_name       = "/aws/lambda/${local.function_name}"
}

output "bucket_name" {
  description = "Data bucket the ETL uploads to."
  value       = module.s3.bucket_name
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.s3.bucket_arn
}

output "access_log_bucket_name" {
  description = "Bucket receiving the data bucket's server access logs."
  value       = module.s3.log_bucket_name
}

output "data_prefix" {
  description = "Key prefix the ETL must write under: <data_prefix>/<table>/<partition>=<value>/<file>."
  value       = var.data_prefix
}

output "kms_key_arn" {
  description = "CMK encrypting the data bucket, Lambda env and logs; ETL writers need kms:GenerateDataKey on it."
  value       = module.kms.key_arn
}

output "queue_url" {
  description = "SQS queue receiving s3:ObjectCreated:* notifications."
  value       = module.sqs.queue_url
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue for notifications the Lambda failed max_receive_count times."
  value       = module.sqs.dlq_url
}

output "lambda_function_name" {
  description = "Name of the partition-registering Lambda."
  value       = module.lambda.function_name
}

output "glue_database_name" {
  description = "Glue database with one table per ETL table."
  value       = module.glue.database_name
}

output "glue_table_names" {
  description = "Glue tables, keyed by ETL table name."
  value       = module.glue.table_names
}

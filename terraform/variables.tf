variable "aws_region" {
  description = "AWS region for every resource of the stack."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like an AWS region code, e.g. eu-central-1."
  }
}

variable "project" {
  description = "Short project name, used as prefix of resource names."
  type        = string
  default     = "first-temporal"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 chars of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment stage; part of resource names and tags."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "bucket_name" {
  description = "Name of the data bucket the ETL writes to. Null derives <project>-<environment>-<account id>, which is globally unique."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 chars, lowercase letters, digits, dots, hyphens)."
  }
}

variable "data_prefix" {
  description = "Key prefix under which the ETL writes <prefix>/<table>/<partition>=<value>/file.csv. No leading or trailing slash."
  type        = string
  default     = "etl"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", var.data_prefix))
    error_message = "data_prefix must be one or more path segments of [A-Za-z0-9_-] joined by '/', without leading or trailing slash."
  }
}

variable "notification_suffix" {
  description = "Only objects whose key ends with this suffix trigger partition registration. Empty string means every object."
  type        = string
  default     = ".csv"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{0,32}$", var.notification_suffix))
    error_message = "notification_suffix must be at most 32 chars of [A-Za-z0-9._-] (or empty)."
  }
}

variable "glue_database_name" {
  description = "Glue Data Catalog database holding one table per ETL table. Null derives <project>_<environment> with underscores."
  type        = string
  default     = null

  validation {
    condition     = var.glue_database_name == null || can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name must be lowercase letters, digits and underscores (Athena-compatible)."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the partition-registering Lambda. The queue's visibility timeout is set to 6x this value, as AWS recommends for SQS event sources."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number between 3 and 900."
  }
}

variable "lambda_memory_mb" {
  description = "Memory size of the Lambda in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrent executions of the Lambda; also the event source mapping's maximum concurrency (AWS minimum there is 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.lambda_reserved_concurrency >= 2 && var.lambda_reserved_concurrency <= 1000
    error_message = "lambda_reserved_concurrency must be between 2 and 1000."
  }
}

variable "sqs_batch_size" {
  description = "Maximum number of SQS messages handed to one Lambda invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10
    error_message = "sqs_batch_size must be between 1 and 10 (larger batches need a batching window)."
  }
}

variable "max_receive_count" {
  description = "Deliveries of one message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda's CloudWatch log group, in days (at least one year)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch-supported value of at least 365."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten (noncurrent) object versions in the data bucket are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_expiration_days" {
  description = "Days after which S3 server access logs are deleted from the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags applied to every resource (merged with Project/Environment/ManagedBy)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256])
    error_message = "Tag keys must be at most 128 chars and values at most 256 chars."
  }
}

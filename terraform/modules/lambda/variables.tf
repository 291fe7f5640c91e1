variable "function_name" {
  description = "Name of the Lambda function."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 chars of [A-Za-z0-9_-]."
  }
}

variable "package_path" {
  description = "Path of the zip built by archive_file from terraform/lambda/glue_partitions."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point to a .zip file."
  }
}

variable "package_hash" {
  description = "base64 SHA-256 of the zip, so code changes trigger an update."
  type        = string

  validation {
    condition     = can(base64decode(var.package_hash))
    error_message = "package_hash must be base64 (archive_file's output_base64sha256)."
  }
}

variable "runtime" {
  description = "Python runtime of the function."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13."
  }
}

variable "timeout_seconds" {
  description = "Function timeout; the source queue's visibility timeout must be at least 6x this."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 3 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 3 and 900."
  }
}

variable "memory_mb" {
  description = "Function memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency; also caps the SQS event source mapping (AWS minimum 2)."
  type        = number

  validation {
    condition     = var.reserved_concurrency >= 2 && var.reserved_concurrency <= 1000
    error_message = "reserved_concurrency must be between 2 and 1000."
  }
}

variable "batch_size" {
  description = "SQS messages per invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10
    error_message = "batch_size must be between 1 and 10."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365."
  }
}

variable "log_group_name" {
  description = "Log group of the function; must be /aws/lambda/<function_name> so Lambda writes to it."
  type        = string

  validation {
    condition     = startswith(var.log_group_name, "/aws/lambda/")
    error_message = "log_group_name must start with /aws/lambda/."
  }
}

variable "kms_key_arn" {
  description = "CMK encrypting the environment variables and the log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "queue_arn" {
  description = "SQS queue of S3 notifications the function consumes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.queue_arn))
    error_message = "queue_arn must be an SQS queue ARN."
  }
}

variable "glue_catalog_id" {
  description = "Account ID owning the Glue Data Catalog."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.glue_catalog_id))
    error_message = "glue_catalog_id must be 12 digits."
  }
}

variable "glue_database_name" {
  description = "Glue database the function registers partitions in (env GLUE_DATABASE)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name must be lowercase letters, digits and underscores."
  }
}

variable "glue_table_names" {
  description = "Glue tables the function may read and add partitions to; nothing else is granted."
  type        = list(string)

  validation {
    condition     = length(var.glue_table_names) > 0
    error_message = "glue_table_names must not be empty."
  }
}

variable "region" {
  description = "Region of the Glue catalog, for ARNs."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region code."
  }
}

variable "partition" {
  description = "AWS partition for ARNs."
  type        = string
  default     = "aws"

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "data_bucket_arn" {
  description = "Bucket of the ETL tables: the function lists a partition's prefix after a removal."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::", var.data_bucket_arn))
    error_message = "data_bucket_arn must be an S3 bucket ARN."
  }
}

variable "data_prefixes" {
  description = "Table prefixes in the bucket the function may list (one per ETL table)."
  type        = list(string)

  validation {
    condition     = length(var.data_prefixes) > 0
    error_message = "data_prefixes must not be empty."
  }
}

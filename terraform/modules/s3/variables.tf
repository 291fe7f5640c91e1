variable "bucket_name" {
  description = "Name of the data bucket; the access-log bucket is named <bucket_name>-access-logs."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name of at most 51 chars (the log bucket appends -access-logs)."
  }
}

variable "kms_key_arn" {
  description = "CMK used for default SSE-KMS encryption of the data bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "notification_queue_arn" {
  description = "SQS queue receiving s3:ObjectCreated:* events for the table prefixes. Its policy must already allow this bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.notification_queue_arn))
    error_message = "notification_queue_arn must be an SQS queue ARN."
  }
}

variable "notification_prefixes" {
  description = "Key prefixes (one per ETL table, ending in '/') whose new objects are announced to the queue."
  type        = list(string)

  validation {
    condition     = length(var.notification_prefixes) > 0 && alltrue([for p in var.notification_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "notification_prefixes must be non-empty, each ending with '/' and not starting with '/'."
  }
}

variable "notification_suffix" {
  description = "Only keys ending with this suffix are announced; empty string for all keys."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{0,32}$", var.notification_suffix))
    error_message = "notification_suffix must be at most 32 chars of [A-Za-z0-9._-]."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_expiration_days" {
  description = "Days after which server access logs are deleted."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets."
  type        = bool
  default     = false
}

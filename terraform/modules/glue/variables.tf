variable "database_name" {
  description = "Glue Data Catalog database name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.database_name))
    error_message = "database_name must be lowercase letters, digits and underscores."
  }
}

variable "bucket_name" {
  description = "Bucket holding the table data."
  type        = string

  validation {
    condition     = length(var.bucket_name) >= 3 && length(var.bucket_name) <= 63
    error_message = "bucket_name must be 3-63 chars."
  }
}

variable "data_prefix" {
  description = "Key prefix under which each table lives at <data_prefix>/<table>/."
  type        = string

  validation {
    condition     = !startswith(var.data_prefix, "/") && !endswith(var.data_prefix, "/")
    error_message = "data_prefix must not start or end with '/'."
  }
}

variable "tables" {
  description = "ETL tables: CSV columns in file order (the partition column included) and the single date partition key."
  type = map(object({
    partition_key = string
    columns = list(object({
      name = string
      type = string
    }))
  }))

  validation {
    condition     = alltrue([for t in values(var.tables) : contains([for c in t.columns : c.name], t.partition_key)])
    error_message = "Each table's partition_key must be one of its CSV columns."
  }

  validation {
    condition     = alltrue(flatten([for t in values(var.tables) : [for c in t.columns : contains(["string", "bigint", "int", "date", "double", "boolean", "timestamp"], c.type)]]))
    error_message = "Column types must be Hive types among string, bigint, int, date, double, boolean, timestamp."
  }
}

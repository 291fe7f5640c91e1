resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "first_temporal dealership ETL output (CSV on S3, partitioned by date)"
}

# One external CSV table per ETL table. LazySimpleSerDe maps CSV fields by
# position, so every column of the file is listed in file order; the column
# that duplicates the partition key is renamed "<name>_in_file" because Hive
# and Athena reject a data column named like a partition key.
resource "aws_glue_catalog_table" "this" {
  for_each = var.tables

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  table_type    = "EXTERNAL_TABLE"
  description   = "ETL table ${each.key}, partitioned by ${each.value.partition_key}"

  parameters = {
    EXTERNAL                 = "TRUE"
    classification           = "csv"
    "skip.header.line.count" = "1"
  }

  partition_keys {
    name = each.value.partition_key
    type = "date"
  }

  storage_descriptor {
    location      = "s3://${var.bucket_name}/${var.data_prefix}/${each.key}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "csv"
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"

      parameters = {
        "field.delim"            = ","
        "serialization.format"   = ","
        "skip.header.line.count" = "1"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name = columns.value.name == each.value.partition_key ? "${columns.value.name}_in_file" : columns.value.name
        type = columns.value.type
      }
    }
  }
}

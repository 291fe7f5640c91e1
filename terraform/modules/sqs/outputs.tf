output "queue_arn" {
  description = "ARN of the notification queue, available only once its policy admits the bucket (S3 validates the destination when notifications are configured)."
  value       = aws_sqs_queue.this.arn
  depends_on  = [aws_sqs_queue_policy.this]
}

output "queue_url" {
  description = "URL of the notification queue."
  value       = aws_sqs_queue.this.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

"""Rasa-side pieces of the scale-out profile (deploy/scaleout): a Redis lock store that rides out a
Redis restart, a REST channel that answers gracefully when the message cannot be processed, and a RabbitMQ
event broker that publishes its pending events before an instance stops."""

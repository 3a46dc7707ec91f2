"""Training data tooling: importing public data sets and turning conversation logs into NLU data
(review, redaction, export, retrain, evaluation, promotion: docs/training-loop.md)."""

"""Training data tooling: importing public data sets and (later) turning conversation logs into NLU data."""

"""Custom Rasa dialogue policies (run inside the Rasa server)."""

"""Rasa-side extensions of ShopDesk (run inside the Rasa server, Python 3.10)."""

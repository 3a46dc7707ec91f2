"""Running ShopDesk locally: process supervision, the stack's wiring, and a REST chat client."""

"""Custom actions served by the rasa-sdk action server (`python -m rasa_sdk --actions actions`).

One module per concern: order forms and flows, identity, knowledge base, recommendations.
"""

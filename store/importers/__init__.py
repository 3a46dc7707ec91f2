"""Import a shop's own products, customers and orders: Shopify and WooCommerce CSV exports, or any CSV with
a column mapping. `python -m store.importers --help`; docs/adopting.md, "Bring your shop's data".

The pieces: csvfile reads an export with line numbers; one module per format (shopify, woocommerce, generic)
turns its columns into shared rows (records); assemble checks the rows and builds orders, statuses through
statuses; write puts them in the store; core runs one import in one transaction; cli is the command.
"""

"""ShopDesk knowledge base: the shop's own documents, chunked, embedded and stored in Chroma.

`knowledge.ingest` fills the base from files (a CLI), `knowledge.retrieval` finds passages with a hybrid of
dense and BM25 search, `knowledge.answers` turns the best passage into a short cited answer or an honest
"not sure".
"""

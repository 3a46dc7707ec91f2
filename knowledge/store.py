"""Opening the Chroma collection that holds the knowledge base, embedded (a directory) or on a Chroma server.

The collection's metadata records which embedding model built it and a revision that changes on every
write, so searchers know when to reload their lexical index.
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings
from chromadb.errors import NotFoundError

from knowledge.settings import KnowledgeSettings

REVISION_KEY = "shopdesk_revision"
MODEL_KEY = "shopdesk_model"
DIMENSION_KEY = "shopdesk_dimension"


class KnowledgeBaseUnavailable(RuntimeError):
    """The knowledge base cannot be used: missing, empty, unreachable or built with another model."""


def open_client(settings: KnowledgeSettings) -> ClientAPI:
    """HttpClient when a server URL is configured, otherwise a persistent client on the local directory."""
    chroma_settings = Settings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        if not url.hostname:
            raise KnowledgeBaseUnavailable(f"SHOPDESK_CHROMA_URL is not a URL: {settings.chroma_url!r}")
        ssl = url.scheme == "https"
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if ssl else 8000), ssl=ssl, settings=chroma_settings
            )
        except Exception as error:  # chromadb raises plain ValueError/ConnectError variants here
            message = f"cannot reach the Chroma server at {settings.chroma_url}: {error}"
            raise KnowledgeBaseUnavailable(message) from error
    return chromadb.PersistentClient(path=settings.chroma_dir, settings=chroma_settings)


def open_client_if_present(settings: KnowledgeSettings) -> ClientAPI:
    """Like open_client, but never creates an empty local directory just by looking for the base."""
    if not settings.chroma_url and not os.path.isdir(settings.chroma_dir):
        raise KnowledgeBaseUnavailable(f"no knowledge base at {settings.chroma_dir} (run `python -m knowledge.ingest`)")
    return open_client(settings)


def get_collection(client: ClientAPI, settings: KnowledgeSettings) -> Collection:
    """The existing collection, or KnowledgeBaseUnavailable (readers never create an empty one)."""
    if not settings.chroma_url and not os.path.isdir(settings.chroma_dir):
        raise KnowledgeBaseUnavailable(f"no knowledge base at {settings.chroma_dir} (run `python -m knowledge.ingest`)")
    try:
        return client.get_collection(settings.collection, embedding_function=None)
    except (NotFoundError, ValueError) as error:
        raise KnowledgeBaseUnavailable(
            f"the knowledge base in {settings.describe_location()} is empty (run `python -m knowledge.ingest`)"
        ) from error


def get_or_create_collection(client: ClientAPI, settings: KnowledgeSettings, model: str, dimension: int) -> Collection:
    """The collection for writing; refuses one built with a different embedding model (vectors would not compare)."""
    collection = client.get_or_create_collection(
        settings.collection,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={MODEL_KEY: model, DIMENSION_KEY: dimension, REVISION_KEY: new_revision()},
    )
    metadata = collection.metadata or {}
    built_with = (metadata.get(MODEL_KEY), metadata.get(DIMENSION_KEY))
    if built_with != (model, dimension) and collection.count() > 0:
        raise KnowledgeBaseUnavailable(
            f"the knowledge base was built with model {built_with[0]} ({built_with[1]} dimensions), not {model} "
            f"({dimension}); re-ingest with --rebuild to start over with the new model"
        )
    return collection


def new_revision() -> str:
    return uuid.uuid4().hex


def mark_changed(collection: Collection, model: str, dimension: int) -> None:
    """Record a new revision so every searcher reloads (the lexical index is built from the stored chunks)."""
    collection.modify(metadata={MODEL_KEY: model, DIMENSION_KEY: dimension, REVISION_KEY: new_revision()})


def revision_of(collection: Collection) -> Any:
    return (collection.metadata or {}).get(REVISION_KEY)

"""Shared fixtures for the knowledge-base tests: fixture documents, fresh knowledge bases, a Chroma server.

Every test that stores something gets its own collection, so the same tests run against an embedded
Chroma directory and against a real `chroma run` server (the `backend` fixture is parametrized over both).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from knowledge.ingest import ingest
from knowledge.settings import KnowledgeSettings

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = FIXTURES / "docs"
BAD = FIXTURES / "bad"
REPO = Path(__file__).resolve().parents[2]
CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on a free local port, stopped after the session."""
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} not found: run `bash scripts/setup.sh`")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}: {(data / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the Chroma server did not start within 60 s")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(params=["local", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> KnowledgeSettings:
    """Settings for a brand-new, empty knowledge base on the chosen backend."""
    collection = f"test-{uuid.uuid4().hex[:12]}"
    if backend == "server":
        return KnowledgeSettings(chroma_url=request.getfixturevalue("chroma_server"), collection=collection)
    return KnowledgeSettings(chroma_dir=str(tmp_path / "chroma"), collection=collection)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A private, writable copy of the fixture documents."""
    target = tmp_path / "docs"
    shutil.copytree(DOCS, target)
    return target


@pytest.fixture(scope="session")
def fixture_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeSettings:
    """A local knowledge base built once from the fixture documents (read-only for tests)."""
    settings = KnowledgeSettings(chroma_dir=str(tmp_path_factory.mktemp("fixture-kb") / "chroma"))
    report = ingest([DOCS], settings)
    assert not report.problems, report.summary()
    return settings


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeSettings:
    """The demo shop's own documents (knowledge/docs), as the demo bot answers from them."""
    settings = KnowledgeSettings(chroma_dir=str(tmp_path_factory.mktemp("demo-kb") / "chroma"))
    report = ingest([REPO / "knowledge" / "docs"], settings)
    assert not report.problems, report.summary()
    return settings


@pytest.fixture
def demo_env(demo_kb: KnowledgeSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action server's environment pointed at the demo shop's knowledge base (embedded Chroma, default
    threshold)."""
    monkeypatch.setenv("SHOPDESK_KNOWLEDGE_DIR", demo_kb.chroma_dir)
    monkeypatch.delenv("SHOPDESK_CHROMA_URL", raising=False)
    monkeypatch.delenv("SHOPDESK_KNOWLEDGE_THRESHOLD", raising=False)

"""Knowledge-base retrieval benchmark: our hybrid against the previous hybrid ("blend"), BM25 and dense-only.

Part 1, the shop's own documents: knowledge/docs ingested fresh, then the questions of
bench/data/kb_dev_questions.yml (tuned on) and kb_test_questions.yml (never tuned on), answerable ones with
the passages that answer them and phrases the reply must contain, and unanswerable ones. Per system:
hit@1 and MRR@10 of the right passage, the correct-answer rate (answered, from a right passage, with the
expected phrases in the reply) and the misleading rate (unanswerable questions answered anyway). `--tune`
prints the dev-set grid the weights were chosen from.

Part 2 builds a fresh knowledge base in a temporary directory through the real ingestion path
(`knowledge.ingest`), asks every paraphrased question in each mode, and prints recall@1, recall@5, MRR@10 and
query latency p50/p95 side by side. It then checks the relevance threshold (in-domain questions vs CLINC150
out-of-scope questions) and measures query latency on a 10,000-chunk base.

Default data (generated at run time into the temporary directory, never committed): Bitext's 27 canonical
answers are the FAQ (question = the intent's name in words, answer = its `response`); a fixed split of its
utterances (md5 of the text: buckets 0-1 of 10 = test questions, bucket 2 = dev questions for the threshold)
are the paraphrased questions. Any FAQ file can be given instead, with an optional paraphrase file.

    nice -n 10 .venv/app/bin/python bench/kb_benchmark.py
    .venv/app/bin/python bench/kb_benchmark.py --faq my_faq.csv --paraphrases my_questions.csv --no-scale
    nice -n 10 .venv/app/bin/python bench/kb_benchmark.py --shop-only [--tune]

FAQ file: CSV or JSON with question, answer and optional id fields (as `knowledge.ingest` reads them).
Paraphrase file: CSV with columns question, answer_id (the FAQ id; the 1-based row number when there is none).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from knowledge import abstention, embeddings, store
from knowledge.answers import answer_question, confidence_of, rank
from knowledge.ingest import ingest
from knowledge.parsers import parser_for
from knowledge.retrieval import MODES, Hit, Passage, Retriever, Weights
from knowledge.settings import KnowledgeSettings
from knowledge.topics import topic_for

REPO = Path(__file__).resolve().parent.parent
SHOP_DOCS = REPO / "knowledge" / "docs"
SHOP_DEV = REPO / "bench" / "data" / "kb_dev_questions.yml"
SHOP_TEST = REPO / "bench" / "data" / "kb_test_questions.yml"
OLD_THRESHOLD = 0.40  # the cosine cut the previous answer logic used (and dense-only is given)
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BITEXT = DATA / "bitext" / "customer_support_intents.csv"
CLINC = DATA / "clinc150" / "train.csv"
BANKING = DATA / "banking77" / "train.csv"
TEST_BUCKETS, DEV_BUCKETS = {0, 1}, {2}
MRR_DEPTH = 10


def bucket(text: str) -> int:
    return int(hashlib.md5(text.strip().lower().encode()).hexdigest(), 16) % 10


# --- data ---------------------------------------------------------------------------------------------------


def write_bitext_files(source: Path, out: Path) -> tuple[Path, Path, Path]:
    """FAQ (27 canonical answers) and test/dev paraphrase files from Bitext, written under `out`."""
    answers: dict[str, str] = {}
    test, dev = [], []
    with source.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            intent, question = row["intent"], " ".join(row["instruction"].split())
            answers.setdefault(intent, row["response"])
            split = bucket(question)
            if split in TEST_BUCKETS:
                test.append((question, intent))
            elif split in DEV_BUCKETS:
                dev.append((question, intent))
    faq = out / "bitext_faq.csv"
    with faq.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "answer"])
        for intent, answer in sorted(answers.items()):
            writer.writerow([intent, intent.replace("_", " ").capitalize(), answer])
    paths = []
    for name, rows in (("bitext_paraphrases_test.csv", test), ("bitext_paraphrases_dev.csv", dev)):
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["question", "answer_id"])
            writer.writerows(rows)
        paths.append(path)
    return faq, paths[0], paths[1]


def read_faq_ids(faq: Path) -> list[tuple[str, str]]:
    """(id, question) of every FAQ pair, read by the same parser the ingestion uses."""
    document = parser_for(faq)(faq.read_bytes(), faq)
    return [(section.faq_id or "", section.faq_question or "") for section in document.sections]


def read_paraphrases(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"question", "answer_id"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: a paraphrase file needs the columns question, answer_id")
        return [(row["question"], row["answer_id"].strip()) for row in reader if row["question"].strip()]


# CLINC150 intents that no shop document should answer (besides its own 'oos' examples).
OFF_DOMAIN_INTENTS = {
    "oos", "weather", "recipe", "calories", "cook_time", "tell_joke", "flip_coin", "roll_dice", "meaning_of_life",
    "fun_fact", "distance", "timezone", "travel_suggestion", "book_flight", "car_rental", "oil_change_how",
    "tire_pressure", "plug_type", "translate", "spelling", "definition", "calculator", "what_song", "play_music",
    "vaccines", "mpg", "jump_start", "traffic", "uber", "restaurant_suggestion",
}


def out_of_scope_questions(limit: int, parity: int) -> list[str]:
    """CLINC150 questions from off-domain intents: what a shop's documents should answer "not sure" to.
    `parity` picks one of two disjoint halves (dev for choosing the threshold, test for reporting)."""
    if not CLINC.exists():
        return []
    with CLINC.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle) if row["intent"] in OFF_DOMAIN_INTENTS]
    chosen = [text for text in texts if bucket(text) % 2 == parity]
    return random.Random(3).sample(chosen, min(limit, len(chosen)))


# --- measuring ----------------------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    ranks: list[int | None]
    latencies_ms: list[float]
    top_relevance: list[float]
    cpu_ms: list[float]

    def recall(self, k: int) -> float:
        return sum(1 for rank in self.ranks if rank is not None and rank <= k) / len(self.ranks)

    @property
    def mrr(self) -> float:
        return sum(1.0 / rank for rank in self.ranks if rank is not None) / len(self.ranks)

    def latency(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile))

    def cpu(self, percentile: float) -> float:
        return float(np.percentile(self.cpu_ms, percentile))


def run_queries(retriever: Retriever, queries: Sequence[tuple[str, str]], mode: str) -> Result:
    """Ask every question (query embedding not cached: latency is what a new customer message costs)."""
    ranks, latencies, relevance, cpu = [], [], [], []
    for question, answer_id in queries:
        embeddings.forget_recent()
        started, started_cpu = time.perf_counter(), time.process_time()
        hits = retriever.search(question, k=MRR_DEPTH, mode=mode)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        ids = [hit.passage.faq_id for hit in hits]
        ranks.append(ids.index(answer_id) + 1 if answer_id in ids else None)
        # hybrid: the calibrated confidence the threshold is compared with; other modes: the cosine
        top = (confidence_of(question, hits[0], retriever) if mode == "hybrid" else hits[0].relevance) if hits else None
        relevance.append(float("nan") if top is None else top)
    return Result(mode, ranks, latencies, relevance, cpu)


def warm_up(retriever: Retriever, questions: Sequence[str]) -> None:
    for question in questions:
        for mode in MODES:
            retriever.search(question, k=MRR_DEPTH, mode=mode)  # type: ignore[arg-type]


def choose_threshold(correct: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut that best separates relevance of correctly answered questions from out-of-scope ones
    (Youden's J: answered share of the first minus answered share of the second)."""
    candidates = sorted({round(value, 3) for value in (*correct, *negatives)})
    best, best_j = 0.5, -1.0
    for cut in candidates:
        j = np.mean(np.asarray(correct) >= cut) - np.mean(np.asarray(negatives) >= cut)
        if j > best_j:
            best, best_j = cut, j
    return float(best)


def threshold_sweep(result: Result, negatives: Sequence[float], in_use: float, suggested: float | None) -> str:
    """What each threshold does: in-domain questions answered right / wrong / "not sure", off-domain answered."""
    cuts = sorted({0.25, 0.30, 0.35, 0.40, 0.45, 0.50, round(in_use, 3), *([round(suggested, 3)] if suggested else [])})
    lines = [
        "| threshold | in-domain: right passage | in-domain: wrong passage | in-domain: \"not sure\" | "
        f"off-domain answered (CLINC150, n={len(negatives)}) |",
        "| --- | --- | --- | --- | --- |",
    ]
    total = len(result.ranks)
    for cut in cuts:
        answered = [rel >= cut for rel in result.top_relevance]
        right = sum(1 for rank, ok in zip(result.ranks, answered, strict=True) if ok and rank == 1)
        wrong = sum(1 for rank, ok in zip(result.ranks, answered, strict=True) if ok and rank != 1)
        off = sum(1 for rel in negatives if rel >= cut) / max(1, len(negatives))
        label = f"{cut:.2f}" if round(cut, 2) == cut else f"{cut:.3f}"
        label += " (in use)" if cut == round(in_use, 3) else ""
        label += " (dev J)" if suggested is not None and cut == round(suggested, 3) else ""
        lines.append(f"| {label} | {right / total:.1%} | {wrong / total:.1%} | {(total - right - wrong) / total:.1%} "
                     f"| {off:.1%} |")
    return "\n".join(lines)


def table(results: Sequence[Result], baseline_note: str) -> str:
    lines = [
        "| retrieval | recall@1 | recall@5 | MRR@10 | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"hybrid": "**ours: hybrid (dense + heading cosine + BM25)**", "bm25": "baseline: BM25 only",
             "blend": "previous hybrid (cosine + 0.08 heading BM25)",
             "dense": "baseline: dense only (Chroma)"}
    for result in results:
        lines.append(
            f"| {names[result.mode]} | {result.recall(1):.3f} | {result.recall(5):.3f} | {result.mrr:.3f} | "
            f"{result.latency(50):.1f} | {result.latency(95):.1f} | {result.cpu(50):.1f} | {result.cpu(95):.1f} |"
        )
    return "\n".join(lines) + f"\n\n{baseline_note}"


# --- the 10k-chunk latency base -----------------------------------------------------------------------------


def distractor_texts(count: int, seed: int = 7) -> list[str]:
    """Real customer-service sentences (Banking77, CLINC150), two per chunk, so BM25 sees a real vocabulary."""
    sentences: list[str] = []
    for path, column in ((BANKING, "text"), (CLINC, "text")):
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                sentences += [row[column] for row in csv.DictReader(handle)]
    if not sentences:
        sentences = [f"synthetic passage number {index} about topic {index % 97}" for index in range(count * 2)]
    rng = random.Random(seed)
    return [f"{rng.choice(sentences)} {rng.choice(sentences)}" for _ in range(count)]


def grow_to(settings: KnowledgeSettings, total: int, seed: int = 7) -> int:
    """Add synthesized chunks until the collection holds `total`: real texts, embeddings made by perturbing the
    stored ones (encoding 10,000 texts on a shared 2-core machine would take minutes and measure nothing new:
    query latency depends on the number and size of chunks, not on what the vectors mean)."""
    client = store.open_client(settings)
    collection = store.get_collection(client, settings)
    have = collection.count()
    need = total - have
    if need <= 0:
        return have
    stored = np.asarray(collection.get(include=["embeddings"])["embeddings"], dtype=np.float32)
    rng = np.random.default_rng(seed)
    texts = distractor_texts(need, seed)
    batch = 2000
    metadata = collection.metadata or {}
    for start in range(0, need, batch):
        size = min(batch, need - start)
        vectors = stored[rng.integers(0, len(stored), size)] + rng.normal(0, 0.08, (size, stored.shape[1]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        chunk_texts = texts[start : start + size]
        collection.add(
            ids=[f"synthetic-{start + index}" for index in range(size)],
            embeddings=vectors.astype(np.float32),
            documents=chunk_texts,
            metadatas=[
                {"source": "synthetic", "title": "Synthetic chunk", "text": text, "kind": "passage", "faq_id": ""}
                for text in chunk_texts
            ],
        )
    store.mark_changed(collection, str(metadata.get(store.MODEL_KEY)), int(metadata.get(store.DIMENSION_KEY, 0)))
    total = collection.count()
    client.close()
    return total


# --- the shop's own documents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopQuestion:
    text: str
    intent: str | None
    accept: tuple[str, ...] = ()  # empty: the documents do not answer it
    expect: tuple[str, ...] = ()


def read_shop_questions(path: Path) -> list[ShopQuestion]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = [ShopQuestion(item["q"], item.get("intent"), tuple(item["accept"]), tuple(item.get("expect", ())))
                 for item in data["answerable"]]
    return questions + [ShopQuestion(item["q"], item.get("intent")) for item in data["unanswerable"]]


def passage_key(passage: Passage) -> str:
    """How the question files name a passage: "faq:<id>" or "<file>#<heading path>"."""
    if passage.faq_id:
        return f"faq:{passage.faq_id}"
    return f"{Path(passage.source).name}#{passage.heading_path}"


@dataclass
class ShopResult:
    system: str
    ranks: list[int | None]  # answerable questions: rank of the first right passage
    correct: list[bool]  # answerable: answered, from a right passage, expected phrases in the reply
    answered_wrong: list[bool]  # answerable: answered from a wrong passage
    misleading: list[bool]  # unanswerable: answered anyway

    def hit1(self) -> float:
        return sum(rank == 1 for rank in self.ranks) / max(1, len(self.ranks))

    def mrr(self) -> float:
        return sum(1 / rank for rank in self.ranks if rank) / max(1, len(self.ranks))

    @staticmethod
    def share(values: list[bool]) -> float:
        return sum(values) / max(1, len(values))


SHOP_SYSTEMS = {
    "dense": "dense only, cosine >= 0.40",
    "blend": "previous hybrid (cosine + 0.08 heading BM25), cosine >= 0.40",
    "hybrid": "**new hybrid + calibrated abstention**",
    "hybrid+topic": "**new hybrid + abstention + intent topic** (what the policy action runs)",
}


def run_shop(retriever: Retriever, questions: Sequence[ShopQuestion], system: str,
             threshold: float | None = None) -> ShopResult:
    """Ask every question the way `system` answers: rank, decide, and (new systems) pick sentences."""
    result = ShopResult(system, [], [], [], [])
    for question in questions:
        if system in ("dense", "blend"):
            hits: list[Hit] = retriever.search(question.text, k=MRR_DEPTH, mode=system)  # type: ignore[arg-type]
            answered = bool(hits) and hits[0].relevance >= OLD_THRESHOLD
            reply = hits[0].passage.text if hits else ""
        else:
            topic = topic_for(question.intent) if system == "hybrid+topic" else None
            answer = answer_question(question.text, retriever, threshold=threshold, topic=topic)
            hits = list(answer.hits) or rank(question.text, retriever, topic)
            answered, reply = answer.found, answer.text
        if not question.accept:
            result.misleading.append(answered)
            continue
        keys = [passage_key(hit.passage) for hit in hits[:MRR_DEPTH]]
        first = next((index + 1 for index, key in enumerate(keys) if key in question.accept), None)
        result.ranks.append(first)
        right = first == 1
        phrases = all(phrase.lower() in reply.lower() for phrase in question.expect)
        result.correct.append(answered and right and phrases)
        result.answered_wrong.append(answered and not right)
    return result


def shop_table(results: Sequence[ShopResult], label: str) -> str:
    lines = [
        f"| {label} | hit@1 | MRR@10 | correct answer | wrong passage answered | misleading (unanswerable answered) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        lines.append(f"| {SHOP_SYSTEMS[result.system]} | {result.hit1():.3f} | {result.mrr():.3f} | "
                     f"{result.share(result.correct):.1%} | {result.share(result.answered_wrong):.1%} | "
                     f"{result.share(result.misleading):.1%} |")
    return "\n".join(lines)


def tune_on_dev(retriever: Retriever, dev: Sequence[ShopQuestion]) -> None:
    """The grids the shipped weights were picked from (dev questions only): ranking by MRR, then abstention
    by correct-answer rate minus misleading rate."""
    answerable = [q for q in dev if q.accept]
    rows = []
    for heading in (0.0, 0.25, 0.5, 0.75, 1.0):
        for body in (0.0, 0.05, 0.1, 0.2):
            for heading_bm25 in (0.0, 0.05, 0.1, 0.2):
                retriever.weights = Weights(1.0, heading, body, heading_bm25)
                result = _ranking_only(retriever, answerable)
                rows.append((result.mrr(), result.hit1(), heading, body, heading_bm25))
    rows.sort(reverse=True)
    print("\ndev ranking grid (top 8): MRR, hit@1, heading cosine, body BM25, heading BM25")
    for row in rows[:8]:
        print("  " + ", ".join(f"{value:.3f}" for value in row))
    retriever.weights = Weights()
    shipped = abstention.COVERAGE_WEIGHT, abstention.UNKNOWN_WEIGHT
    grid = []
    for coverage in (0.0, 0.1, 0.15, 0.2, 0.3):
        for unknown in (0.0, 0.1, 0.25, 0.4):
            abstention.COVERAGE_WEIGHT, abstention.UNKNOWN_WEIGHT = coverage, unknown
            for threshold in (0.40, 0.45, 0.50, 0.55, 0.60):
                result = run_shop(retriever, dev, "hybrid+topic", threshold)
                score = result.share(result.correct) - result.share(result.misleading)
                grid.append((score, result.share(result.correct), result.share(result.misleading), coverage,
                             unknown, threshold))
    abstention.COVERAGE_WEIGHT, abstention.UNKNOWN_WEIGHT = shipped
    grid.sort(reverse=True)
    print("dev abstention grid (top 8): correct - misleading, correct, misleading, coverage w, unknown w, threshold")
    for row in grid[:8]:
        print("  " + ", ".join(f"{value:.3f}" for value in row))


def _ranking_only(retriever: Retriever, questions: Sequence[ShopQuestion]) -> ShopResult:
    result = ShopResult("hybrid", [], [], [], [])
    for question in questions:
        keys = [passage_key(hit.passage) for hit in retriever.search(question.text, k=MRR_DEPTH)]
        result.ranks.append(next((i + 1 for i, key in enumerate(keys) if key in question.accept), None))
    return result


def shop_benchmark(tmp_path: Path, model: str | None, tune: bool) -> None:
    settings = KnowledgeSettings(chroma_dir=str(tmp_path / "shop-chroma")).with_overrides(model_dir=model)
    report = ingest([SHOP_DOCS], settings)
    if report.problems:
        raise SystemExit(report.summary())
    retriever = Retriever(settings)
    dev, test = read_shop_questions(SHOP_DEV), read_shop_questions(SHOP_TEST)
    print(f"shop documents: {report.total_chunks} chunks from {SHOP_DOCS.relative_to(REPO)}; threshold "
          f"{settings.threshold:.2f} (new systems), cosine {OLD_THRESHOLD:.2f} (old)")
    if tune:
        tune_on_dev(retriever, dev)
    for label, questions in (("dev (tuned on)", dev), ("test (never tuned on)", test)):
        answerable = sum(1 for q in questions if q.accept)
        print(f"\n{label}: {answerable} answerable, {len(questions) - answerable} unanswerable questions\n")
        print(shop_table([run_shop(retriever, questions, system) for system in SHOP_SYSTEMS], label.split()[0]))


# --- main ---------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faq", type=Path, help="FAQ file (CSV/JSON question/answer[/id]); default: Bitext")
    parser.add_argument("--paraphrases", type=Path, help="CSV question,answer_id; default: the FAQ's questions")
    parser.add_argument("--dev-paraphrases", type=Path, help="CSV question,answer_id used to calibrate the threshold")
    parser.add_argument("--model", help="embedding model directory (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--scale", type=int, default=10_000, help="chunks in the latency base (default 10000)")
    parser.add_argument("--no-scale", action="store_true", help="skip the large-base latency test")
    parser.add_argument("--negatives", type=int, default=300, help="out-of-scope questions per split")
    parser.add_argument("--limit", type=int, help="ask at most this many paraphrased questions (quick runs)")
    parser.add_argument("--shop-only", action="store_true", help="only part 1: the shop's own documents")
    parser.add_argument("--no-shop", action="store_true", help="skip part 1")
    parser.add_argument("--tune", action="store_true", help="part 1: also print the dev-set tuning grids")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        tmp_path = Path(tmp)
        if not args.no_shop:
            shop_benchmark(tmp_path, args.model, args.tune)
            if args.shop_only:
                return 0
            print()
        dev_file = args.dev_paraphrases
        if args.faq is None:
            if not BITEXT.exists():
                raise SystemExit(f"Bitext data not found at {BITEXT}; pass --faq")
            faq, paraphrase_file, dev_file = write_bitext_files(BITEXT, tmp_path)
            data_note = f"Bitext: 27 canonical answers as the FAQ, paraphrases from {BITEXT.name} (md5 split)"
        else:
            faq, paraphrase_file = args.faq, args.paraphrases
            data_note = f"FAQ {faq}" + (f", paraphrases {paraphrase_file}" if paraphrase_file else "")
        faq_entries = read_faq_ids(faq)
        queries = read_paraphrases(paraphrase_file) if paraphrase_file else [(q, i) for i, q in faq_entries]
        dev_queries = read_paraphrases(dev_file) if dev_file else []
        if args.limit:
            queries = random.Random(1).sample(queries, min(args.limit, len(queries)))
            dev_queries = dev_queries[: args.limit]
        unknown = {answer for _, answer in queries} - {faq_id for faq_id, _ in faq_entries}
        if unknown:
            raise SystemExit(f"paraphrases name answer ids that are not in the FAQ: {sorted(unknown)[:5]}")

        settings = KnowledgeSettings(chroma_dir=str(tmp_path / "chroma")).with_overrides(model_dir=args.model)
        started = time.perf_counter()
        report = ingest([faq], settings)
        if report.problems:
            raise SystemExit(report.summary())
        print(f"ingested {faq.name}: {report.total_chunks} chunks in {time.perf_counter() - started:.1f} s")
        print(f"data: {data_note}; {len(queries)} test questions, {len(dev_queries)} dev questions")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (latency is wall clock; CPU "
              "columns are this process's CPU time per query, all threads)")

        retriever = Retriever(settings)
        warm_up(retriever, [question for question, _ in queries[:20]])
        results = [run_queries(retriever, queries, mode) for mode in ("hybrid", "blend", "bm25", "dense")]
        hybrid, blend, bm25, dense = results
        verdict = "PASS" if hybrid.recall(1) > max(blend.recall(1), bm25.recall(1), dense.recall(1)) else "FAIL"
        print()
        print(table(results, f"Target: hybrid recall@1 above every baseline -> {verdict}"))

        negatives_dev = [confidence_of(q, hit[0], retriever) for q, hit in (
            (q, retriever.search(q, k=1)) for q in out_of_scope_questions(args.negatives, 0)) if hit]
        negatives_test = [confidence_of(q, hit[0], retriever) for q, hit in (
            (q, retriever.search(q, k=1)) for q in out_of_scope_questions(args.negatives, 1)) if hit]
        threshold = settings.threshold
        print()
        if negatives_test:
            suggested = None
            if dev_queries:
                dev = run_queries(retriever, dev_queries, "hybrid")
                correct = [rel for rank, rel in zip(dev.ranks, dev.top_relevance, strict=True) if rank == 1]
                suggested = choose_threshold(correct, negatives_dev)
                print(f"threshold suggested by the dev split (Youden's J): {suggested:.3f}; in use: {threshold:.3f}")
            print("\nRelevance threshold (SHOPDESK_KNOWLEDGE_THRESHOLD, compared with the calibrated confidence of "
                  "knowledge.abstention) on the test questions, hybrid:\n")
            print(threshold_sweep(hybrid, negatives_test, threshold, suggested))

        if not args.no_scale:
            started = time.perf_counter()
            size = grow_to(settings, args.scale)
            retriever = Retriever(settings)
            retriever.snapshot()
            print(f"\nlatency base: {size} chunks (grown in {time.perf_counter() - started:.1f} s)")
            sample = random.Random(2).sample(queries, min(300, len(queries)))
            warm_up(retriever, [question for question, _ in sample[:20]])
            scaled = [run_queries(retriever, sample, mode) for mode in ("hybrid", "bm25", "dense")]
            print()
            print(f"| retrieval at {size} chunks | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |")
            print("| --- | --- | --- | --- | --- |")
            for result in scaled:
                print(f"| {result.mode} | {result.latency(50):.1f} | {result.latency(95):.1f} | "
                      f"{result.cpu(50):.1f} | {result.cpu(95):.1f} |")
            p95 = scaled[0].latency(95)
            print(f"\nTarget: hybrid p95 <= 50 ms at {size} chunks -> {'PASS' if p95 <= 50 else 'FAIL'} ({p95:.1f} ms "
                  f"wall clock; CPU time p95 {scaled[0].cpu(95):.1f} ms; load average {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

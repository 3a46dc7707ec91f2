"""Retrain in the background: train a candidate, evaluate it against the current model, record the verdict.

The console only creates a job row and starts `python -m training.retrain --job N` as a detached
process; the runner writes its stage, progress and latest output line into the row as it goes, so any
console process shows the same progress bar, and closing the browser or restarting a console process
does not stop it. One job at a time (a second one is refused while one is queued or running).

    python -m training.retrain --job N [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from training.evaluation import compare, evaluate, fingerprint, split_data, stories_fingerprint
from training.models_registry import ModelRegistry, ModelView, utcnow
from training.rasa_cli import run_rasa
from training.settings import PROJECT_ROOT, TrainingSettings
from training.tables import ACTIVE_JOB_STATUSES, JobStatus, ModelStatus, TrainingJob

HEARTBEAT_S = 5
STALE_AFTER = timedelta(minutes=2)  # a running job whose heartbeat stopped: its runner died


class JobRefused(RuntimeError):
    pass


@dataclass(frozen=True)
class JobView:
    id: int
    status: str
    stage: str
    progress: int
    detail: str
    error: str
    model_version_id: int | None
    created_at: Any
    finished_at: Any

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "stage": self.stage, "progress": self.progress,
                "detail": self.detail, "error": self.error[-2000:], "model_version_id": self.model_version_id,
                "done": self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)}


def _view(job: TrainingJob) -> JobView:
    return JobView(id=job.id, status=job.status, stage=job.stage, progress=job.progress, detail=job.detail,
                   error=job.error, model_version_id=job.model_version_id, created_at=job.created_at,
                   finished_at=job.finished_at)


class JobBoard:
    """The jobs table: create, read, and the runner's updates."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, settings: TrainingSettings, agent_id: int | None = None) -> JobView:
        self.reap_stale()
        with self.sessions.begin() as s:
            active = s.scalar(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_JOB_STATUSES)).limit(1))
            if active is not None:
                raise JobRefused(f"Training job {active.id} is still {active.status}; wait for it to finish.")
            job = TrainingJob(status=JobStatus.QUEUED, stage="queued", params=json.dumps(settings.to_json()),
                              started_by_id=agent_id, created_at=utcnow())
            s.add(job)
            s.flush()
            return _view(job)

    def get(self, job_id: int) -> JobView | None:
        with self.sessions() as s:
            job = s.get(TrainingJob, job_id)
            return _view(job) if job else None

    def latest(self, limit: int = 10) -> list[JobView]:
        self.reap_stale()
        with self.sessions() as s:
            return [_view(j) for j in s.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit))]

    def settings(self, job_id: int) -> TrainingSettings:
        with self.sessions() as s:
            job = s.get(TrainingJob, job_id)
            if job is None:
                raise JobRefused(f"No training job {job_id}.")
            return TrainingSettings.from_json(json.loads(job.params or "{}"))

    def update(self, job_id: int, **values: Any) -> None:
        with self.sessions.begin() as s:
            job = s.get(TrainingJob, job_id)
            if job is not None:
                for key, value in values.items():
                    setattr(job, key, value)
                job.heartbeat_at = utcnow()

    def reap_stale(self) -> None:
        """A job whose runner never started or stopped beating (killed, restarted) is failed, so a new one can run."""
        limit = utcnow() - STALE_AFTER
        with self.sessions.begin() as s:
            for job in s.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_JOB_STATUSES))):
                if (job.heartbeat_at or job.created_at) < limit:
                    job.status, job.error, job.finished_at = JobStatus.FAILED, "The job runner stopped.", utcnow()


class _Progress:
    """Maps Rasa's output onto the job's progress bar within one stage's range."""

    def __init__(self, board: JobBoard, job_id: int, stage: str, low: int, high: int) -> None:
        self.board, self.job_id, self.low, self.high = board, job_id, low, high
        self.steps = 0
        board.update(job_id, stage=stage, progress=low, detail="")

    def __call__(self, line: str) -> None:
        if "Finished training component" in line or "Running NLU model" in line or "Evaluating" in line:
            self.steps += 1
        if line.strip():
            progress = min(self.high - 1, self.low + self.steps * max(1, (self.high - self.low) // 12))
            self.board.update(self.job_id, progress=progress, detail=line.strip()[-300:])


def _evaluation_key(metrics_key: str, stories_key: str) -> str:
    return f"{metrics_key}:{stories_key}"


def run_job(job_id: int, sessions: sessionmaker[Session]) -> ModelView:
    """Everything the job does, in this process: train, evaluate both models, compare, record the candidate."""
    board = JobBoard(sessions)
    settings = board.settings(job_id)
    registry = ModelRegistry(sessions, settings.models_dir)
    board.update(job_id, status=JobStatus.RUNNING, stage="preparing", progress=2, started_at=utcnow(),
                 pid=os.getpid())
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(board, job_id, stop), daemon=True)
    beat.start()
    try:
        work = settings.work_dir / f"job-{job_id}"
        work.mkdir(parents=True, exist_ok=True)
        data_fingerprint = fingerprint(settings.data_dir, settings.config, settings.domain)
        split = split_data(settings, work)
        board.update(job_id, progress=5, detail=f"{split.heldout_examples} held-out examples")

        name = f"candidate-{job_id}-{utcnow():%Y%m%d-%H%M%S}"
        run_rasa(settings, "train", "--config", str(settings.config), "--domain", str(settings.domain), "--data",
                 str(split.train_dir), "--out", str(settings.candidates_dir), "--fixed-model-name", name,
                 on_line=_Progress(board, job_id, "training", 5, 60))
        model_path = settings.candidates_dir / f"{name}.tar.gz"

        candidate = evaluate(settings, model_path, split, work / "eval-candidate",
                             on_line=_Progress(board, job_id, "evaluating the candidate", 60, 80))
        current = registry.current()
        current_metrics = None
        if current is not None and Path(current.path).exists():
            key = _evaluation_key(split.fingerprint, stories_fingerprint(settings))
            current_metrics = (current.metrics.get("evaluations") or {}).get(key)
            if current_metrics is None:
                current_metrics = evaluate(settings, Path(current.path), split, work / "eval-current",
                                           on_line=_Progress(board, job_id, "evaluating the current model", 80, 95))
                registry.save_metrics(current.id, key, current_metrics)
        board.update(job_id, stage="comparing", progress=96, detail="")
        report = compare(candidate, current_metrics, settings.tolerance)
        report["current_model_id"] = current.id if current else None
        report["heldout_examples"] = split.heldout_examples
        key = _evaluation_key(split.fingerprint, candidate["stories_fingerprint"])
        model = registry.register(model_path, ModelStatus.CANDIDATE, fingerprint=data_fingerprint,
                                  metrics={"latest": candidate, "evaluations": {key: candidate}}, report=report,
                                  gate_passed=report["passed"])
        board.update(job_id, status=JobStatus.SUCCEEDED, stage="done", progress=100, finished_at=utcnow(),
                     model_version_id=model.id,
                     detail="passed the gate" if report["passed"] else "; ".join(report["regressions"])[:300])
        return model
    except BaseException as exc:
        board.update(job_id, status=JobStatus.FAILED, stage="failed", finished_at=utcnow(),
                     error="".join(traceback.format_exception_only(type(exc), exc))[-4000:])
        raise
    finally:
        stop.set()


def _heartbeat(board: JobBoard, job_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        board.update(job_id)


def launch(job_id: int, database_url: str, log_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """Start the runner as its own process (own session: it outlives the request and the console worker)."""
    log_dir = log_dir or PROJECT_ROOT / "var" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"training-job-{job_id}.log", "ab")  # noqa: SIM115  (the child owns it)
    return subprocess.Popen([sys.executable, "-m", "training.retrain", "--job", str(job_id), "--database-url",
                             database_url], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "SHOPDESK_DATABASE_URL": database_url})


def main(argv: list[str] | None = None) -> int:
    from store.db import database_url, make_engine, session_factory

    parser = argparse.ArgumentParser(prog="python -m training.retrain", description=__doc__.split("\n")[0])
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    sessions = session_factory(make_engine(args.database_url or database_url()))
    try:
        model = run_job(args.job, sessions)
    except Exception as exc:  # recorded in the job row already
        print(f"training job {args.job} failed: {exc}", file=sys.stderr)
        return 1
    print(f"training job {args.job}: candidate model {model.id} ({'passed' if model.gate_passed else 'blocked'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The training loop's state in the store database: annotations, training jobs and model versions.

In the database rather than in a process, so every console process (and the background job runner) sees
the same annotations, the same job progress and the same promoted model.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import console.models  # noqa: F401  (console_agents, which annotations and promotions refer to)
from store.models import Base, _enum


class Verdict(enum.StrEnum):
    LABEL = "label"  # train on it with `intent` (the model's guess confirmed, or corrected)
    IGNORE = "ignore"  # not useful as training data
    OUT_OF_SCOPE = "out_of_scope"  # exported as the out_of_scope intent


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class ModelStatus(enum.StrEnum):
    CANDIDATE = "candidate"  # trained and evaluated, waiting for a decision
    PROMOTED = "promoted"  # served (the newest promoted one is the current model)
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"


class Annotation(Base):
    """A reviewer's verdict on one customer message (a `user` row of Rasa's tracker store)."""

    __tablename__ = "training_annotations"
    __table_args__ = (UniqueConstraint("conversation_id", "event_id", name="uq_annotation_message"),
                      Index("ix_training_annotations_updated", "updated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[int] = mapped_column(Integer)  # events.id in the tracker store
    text: Mapped[str] = mapped_column(Text)  # redacted: personal data never enters this table
    predicted_intent: Mapped[str] = mapped_column(String(255), default="")
    predicted_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict))
    intent: Mapped[str] = mapped_column(String(255), default="")
    entities: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{start, end, entity}] in `text`
    annotated_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_agents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    exported_at: Mapped[datetime | None] = mapped_column(DateTime)


class TrainingJob(Base):
    """One retrain + evaluation run, written by the background runner while it works."""

    __tablename__ = "training_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus))
    stage: Mapped[str] = mapped_column(String(80), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    detail: Mapped[str] = mapped_column(Text, default="")  # the latest line of output, for the progress bar
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON TrainingSettings
    error: Mapped[str] = mapped_column(Text, default="")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_agents.id"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    pid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)


class ModelVersion(Base):
    """Every model the loop has seen: what it was trained on, how it scored, and what became of it."""

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_status_promoted", "status", "promoted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus))
    data_fingerprint: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the training files
    metrics: Mapped[str] = mapped_column(Text, default="{}")  # JSON: evaluations by held-out fingerprint
    report: Mapped[str] = mapped_column(Text, default="{}")  # JSON: comparison with the current model
    gate_passed: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")  # override reason, rollback note, "baseline"
    created_at: Mapped[datetime] = mapped_column(DateTime)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    promoted_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_agents.id"))

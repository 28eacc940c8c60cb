"""Side effects of `demo.sleep` runs with `record: true` (the chaos run counts them)."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Model, UTCDateTime, utcnow


class DemoEffect(Model):
    """One completed execution of a job, written in the transaction that marks it succeeded.

    Keyed by (job, attempt) and not unique per job on purpose: if the pipeline ever
    let two attempts of one job complete, both rows would land and the count shows it.
    """

    __tablename__ = "demo_effects"

    job_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                                              primary_key=True)
    attempt: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

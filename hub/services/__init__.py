"""Domain logic shared by the API and the tasks. Services own transactions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from hub.extensions import db


def paginate(query: Select, page: int, per_page: int, *order_by: Any) -> tuple[list[Any], int]:
    """One page of `query` in the given order, and the total row count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(*order_by)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total or 0

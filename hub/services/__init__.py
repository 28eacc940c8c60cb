"""Domain logic shared by the API and the tasks. Services own transactions."""
from hub.models.base import paginate

__all__ = ["paginate"]

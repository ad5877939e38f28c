"""Storage: the declarative base, engines and sessions, and the shipped migrations."""

from citymeter.db.base import Base, utcnow
from citymeter.db.engine import make_engine, make_sessionmaker

__all__ = ["Base", "make_engine", "make_sessionmaker", "utcnow"]

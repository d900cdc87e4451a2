"""The inspection service's declarative base: its tables on a metadata of their own (see kit.db.Base)."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from kit.db import NAMING_CONVENTION, TYPE_ANNOTATION_MAP


class Base(DeclarativeBase):
    """Base of every inspection service model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = TYPE_ANNOTATION_MAP

"""Notify's declarative base: its tables sit on a metadata of their own."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from kit.db import NAMING_CONVENTION, TYPE_ANNOTATION_MAP


class Base(DeclarativeBase):
    """Base of notify's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = TYPE_ANNOTATION_MAP

# ruff: noqa: INP001 - a script, not part of a package
"""Draw docs/state-diagram.svg, the picture in the README: ``python docs/state_diagram.py``."""

from pathlib import Path

from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

import sessionkit


class Base(DeclarativeBase):
    """The declarative base of the one model below."""


class Author(Base):
    """An author with a name."""

    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
Session = sessionmaker(bind=engine)
tracker = sessionkit.track(Session, models=Base)

session = Session()
ann, bo, cy, di, ed = (Author(name=name) for name in ("Ann", "Bo", "Cy", "Di", "Ed"))
session.add_all([ann, bo, cy])
session.commit()
session.delete(cy)
session.flush()  # Cy: deleted
session.add(di)  # Di: pending
session.expunge(ann)  # Ann: detached (and expired since the commit); Ed: transient
tracker.diagram().save(Path(__file__).with_name("state-diagram.svg"))

"""Mapped classes the tests share: an author with books (cascade all, delete-orphan)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "sk_author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), default="anonymous")
    books: Mapped[list[Book]] = relationship(back_populates="author", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"Author(name={self.name!r})"


class Book(Base):
    __tablename__ = "sk_book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), default="untitled")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("sk_author.id"))
    author: Mapped[Author | None] = relationship(back_populates="books")

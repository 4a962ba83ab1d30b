"""Lesson 2, adding instances, as a marimo notebook: `marimo edit 02_adding_instances.py`."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    mo.md(
        """
        # 2. Adding instances (marimo edition)

        A new Python object knows nothing about the database. This notebook follows new
        objects from the moment they are created, through `add()`, to the INSERT that
        stores them and the commit that makes the row permanent. It is lesson 2 of the
        Jupyter course, for marimo: marimo has no magics, so it uses sessionkit's Python
        API, and marimo runs a cell again whenever something it depends on changes.

        **After this notebook you will be able to** say which state `add()` puts an object
        in (*pending*), predict **when** the INSERT is sent (at the next flush), explain
        *autoflush*, and say what `commit()` does.
        """
    )
    return (mo,)


@app.cell
def _():
    from sqlalchemy import ForeignKey, String, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

    import sessionkit
    from sessionkit import Exercise, state_of
    from sessionkit.teaching import create_engine

    class Base(DeclarativeBase):
        pass

    class Author(Base):
        __tablename__ = "author"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))
        books: Mapped[list["Book"]] = relationship(back_populates="author", cascade="all, delete-orphan")

    class Book(Base):
        __tablename__ = "book"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(100))
        author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
        author: Mapped[Author] = relationship(back_populates="books")

    engine = create_engine(metadata=Base.metadata)
    Session = sessionmaker(bind=engine)
    tracker = sessionkit.track(Session, models=Base)
    return Author, Book, Exercise, Session, func, select, state_of, tracker


@app.cell
def _(mo, tracker):
    live = tracker.view()
    mo.vstack(
        [
            mo.md(
                "The **live view** follows every session `Session` makes: each object is a token "
                "in the box of its state, with the identity map, the event log and the SQL below. "
                "Under each step, `tracker.step()` draws the diagram as it was at that moment, with "
                "the moves since the previous picture in red."
            ),
            live,
        ]
    )
    return (live,)


@app.cell
def _(Author, mo, state_of, tracker):
    ann = Author(name="Ann")
    picture_1 = tracker.step()
    mo.vstack(
        [
            mo.md(
                f"""
                ## Step 1: a new object is *transient*

                `ann = Author(name="Ann")`: she is **{state_of(ann)}**, and her `id` is `{ann.id}`.
                No session holds her and she has no row, so she has no primary key either.
                SQLAlchemy has no hook for this moment; sessionkit sees it through the model
                classes (`models=Base`).
                """
            ),
            picture_1,
        ]
    )
    return (ann,)


@app.cell
def _(Book, Session, ann, mo, state_of, tracker):
    session = Session()
    session.add(ann)
    dune = Book(title="Dune")
    ann.books.append(dune)
    picture_2 = tracker.step()
    mo.vstack(
        [
            mo.md(
                f"""
                ## Step 2: `add()` makes it *pending*

                After `session.add(ann)`, Ann is **{state_of(ann)}**: the session knows her
                (`ann in session.new` is `{ann in session.new}`), but the database does not.
                SQL sent so far: {len(tracker.statements)}. We then append a book to
                `ann.books` without calling `add()` for it: the *save-update* cascade of
                `Author.books` brings it in, so Dune is **{state_of(dune)}** too.
                """
            ),
            picture_2,
        ]
    )
    return dune, session


@app.cell
def _(Author, mo, session, tracker):
    bo, cy = Author(name="Bo"), Author(name="Cy")
    session.add_all([bo, cy])
    picture_3 = tracker.step()
    mo.vstack(
        [
            mo.md(
                f"""
                ## Step 3: `add_all()` adds several at once

                `session.add_all([bo, cy])` calls `add()` for each. `session.new` now holds
                {len(session.new)} objects, and still no SQL has been sent.
                """
            ),
            picture_3,
        ]
    )
    return


@app.cell
def _(Exercise, dune, mo, session, tracker):
    session.flush()
    flush_exercise = Exercise(
        "The session has just flushed. Which state is the book Dune in now?",
        dune,
        hint="A flush sends an INSERT for every pending object. What does a row in the database make an object?",
        explanation="The flush inserted its row, so it has an identity in the session: it is persistent.",
        tracker=tracker,
    )
    flush_answer = mo.ui.radio(options=[state.value for state in flush_exercise.choices], label="Dune is")
    flush_picture = tracker.step()
    mo.vstack(
        [
            mo.md(
                """
                ## Step 4: the flush sends the INSERTs

                A **flush** turns everything pending into SQL. You seldom call `flush()`
                yourself, but calling it once makes the moment visible. This cell ran
                `session.flush()`.

                **Exercise.** """
                + flush_exercise.prompt
            ),
            flush_answer,
            mo.accordion({"Hint": mo.md(flush_exercise.hint)}),
        ]
    )
    return flush_answer, flush_exercise, flush_picture


@app.cell
def _(flush_answer, flush_exercise, flush_picture, mo, tracker):
    mo.stop(
        flush_answer.value is None,
        mo.md("*Pick a state above: your answer is checked against the real session, and the picture of the flush appears.*"),
    )
    mo.vstack(
        [
            flush_exercise.check(flush_answer.value),
            flush_picture,
            mo.md(
                "One INSERT per object, authors first, since a book row needs its author's "
                "primary key. The rows are in the database, inside a transaction that is "
                "**not committed yet**. The SQL of each flush:"
            ),
            tracker.sql_frame(),
        ]
    )
    return


@app.cell
def _(Author, mo, select, session, state_of, tracker):
    dan = Author(name="Dan")
    session.add(dan)
    names = [author.name for author in session.scalars(select(Author).order_by(Author.id))]
    eli = Author(name="Eli")
    session.add(eli)
    with session.no_autoflush:
        names_without_eli = [author.name for author in session.scalars(select(Author).order_by(Author.id))]
    picture_5 = tracker.step()
    mo.vstack(
        [
            mo.md(
                f"""
                ## Step 5: autoflush before a query

                Dan was added, then a query ran: it returned `{names}`. Before sending the
                SELECT, the session flushed on its own (**autoflush**), so a query always sees
                what you added. Inside `with session.no_autoflush:` the same query for a
                pending Eli returns `{names_without_eli}`, and Eli is still **{state_of(eli)}**.
                """
            ),
            picture_5,
        ]
    )
    return


@app.cell
def _(Author, Session, func, mo, select, session, tracker):
    session.commit()
    with Session() as fresh:
        stored = fresh.scalar(select(func.count()).select_from(Author))
    picture_6 = tracker.step()
    mo.vstack(
        [
            mo.md(
                f"""
                ## Step 6: `commit()` makes it permanent

                `commit()` flushes what is left (Eli's INSERT), then commits. A brand-new
                session counts {stored} authors in the database. By default the commit also
                **expires** every attribute of every object: the next read loads them again.
                """
            ),
            picture_6,
        ]
    )
    return


@app.cell
def _(live, mo):
    add_author = mo.ui.run_button(label="Add an author and flush")
    mo.vstack(
        [
            mo.md(
                """
                ## Try it

                Each click adds one more author to `session` and flushes. Watch the live
                view: the new token appears as pending, then moves to persistent with its
                INSERT.
                """
            ),
            add_author,
            live,
        ]
    )
    return (add_author,)


@app.cell
def _(Author, add_author, mo, session, state_of):
    mo.stop(not add_author.value)
    guest = Author(name="Guest")
    session.add(guest)
    session.flush()
    mo.md(f"Added {guest.name}: it is **{state_of(guest)}**, with id {guest.id}.")
    return


@app.cell
def _(mo):
    mo.md("""
    ## Recap

    - A new object is **transient**: no session, no row, no primary key.
    - `add()` and `add_all()` make objects **pending**; related objects follow through
      the *save-update* cascade. No SQL is sent yet.
    - The INSERT happens at the next **flush**: when you call `flush()`, before a query
      (**autoflush**), and inside `commit()`. Afterwards the objects are **persistent**.
    - `commit()` is a flush and a COMMIT; then every attribute is **expired**.

    **In marimo:** the live view redraws at every SQLAlchemy lifecycle event. A change
    that fires none (setting an attribute makes an object *dirty*) shows at the next
    event, or when you call `live.refresh()`; in Jupyter the view also looks again after
    each cell.
    """)
    return


if __name__ == "__main__":
    app.run()

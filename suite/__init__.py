"""SQLAlchemy's own ORM test suite as the judge that tracking never changes what SQLAlchemy does.

``python -m suite`` fetches the source distribution of the installed SQLAlchemy, runs its
``test/orm`` twice (plain, then with every ``Session`` tracked) and fails on any test whose
outcome differs, unless ``allowed_differences.txt`` names it with a reason.
"""

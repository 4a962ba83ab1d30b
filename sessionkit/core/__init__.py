"""The core: SQLAlchemy's events in; typed events, labels, snapshots and truth notes out.

It imports SQLAlchemy and the standard library only: no IPython, widgets, pandas or graphviz.
"""

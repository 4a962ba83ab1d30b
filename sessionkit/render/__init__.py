"""Rendering: snapshots and events to DOT and SVG, HTML, plain text and DataFrames.

Pure functions and small classes; no IPython and no widgets. pandas, graphviz and
pygraphviz are imported only when a picture or table is made.
"""

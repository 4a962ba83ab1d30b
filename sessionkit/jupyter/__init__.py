"""The Jupyter layer: the ``%sessionkit`` magics, the live view and replay widgets, and exercises.

IPython, ipywidgets and anywidget are imported only when a magic is loaded or a widget is built.
"""

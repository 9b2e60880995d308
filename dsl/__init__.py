"""The decorator DSL: classes declared with ``@action``, ``@agent``, ``@route`` compile into jido specs."""

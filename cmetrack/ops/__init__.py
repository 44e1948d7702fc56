"""Operations: the health endpoint, Prometheus metrics and structured logs (docs/operations.md).

This app sits at the top of the stack: it reads the worker's state (``jobs``), the search
indexes (``matching``) and the imports (``detection``); nothing imports it except the
settings and the URLs.
"""

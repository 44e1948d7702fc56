"""Generic building blocks every layer may use: no models, no imports from other cmetrack apps.

The bottom layer beside ``rules``: file storage, upload handling, PDF and spreadsheet output,
date formatting, and the API's problem-details error contract. Anything here must be usable
by ``cases`` and every area above it without reaching up into ``core``.
"""

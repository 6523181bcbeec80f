"""The interactive attention explorer: JSON written by :mod:`.data`, drawn by ``explorer.js``.

Python computes everything (tokens, every layer and head's attention matrix, the
prediction) at build time; ``explorer.js`` only draws it, with no framework, building
the page with ``createElement`` and ``textContent`` so no string from the data is ever
parsed as HTML. ``explorer.css`` styles it with Material's colour variables.
"""

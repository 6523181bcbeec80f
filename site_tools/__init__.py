"""Build steps of the documentation site, in plain Python (not part of the package).

MkDocs hooks in hooks/ call these; each module also has a command line, so the site
is not tied to MkDocs:

- ``katex_render``: math to HTML with KaTeX at build time, and KaTeX's CSS and fonts.
- ``griffe_doctests``: docstring doctests shown as ``pycon`` code blocks (mkdocstrings).
- ``browser``: Debian's Chromium on a built site (local server, screenshots).
"""

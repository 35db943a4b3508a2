"""A hook of the documentation site (mkdocs.yml ``hooks``): in the notebooks' pages, the
links to other pages point to the built pages.

A notebook links to a page by its source, ``../how-to/python.md``, which GitHub, Jupyter
and editors follow; mkdocs rewrites such links in Markdown pages but mkdocs-jupyter does
not in notebooks, so this hook does (``.md`` -> ``.html``: the site is built with
``use_directory_urls: false``). tests/test_site.py checks that every such link resolves.
"""

from __future__ import annotations

import re

PAGE_LINK = re.compile(r'href="(?![a-z]+:)([^"#]+)\.md(#[^"]*)?"')


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    return PAGE_LINK.sub(lambda m: f'href="{m[1]}.html{m[2] or ""}"', html)

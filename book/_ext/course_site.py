"""Sphinx extension with the site tweaks that keep every page offline and light.

1. Math: LaTeX is rendered to MathML at build time with latex2mathml. Browsers draw MathML
   Core natively, so no MathJax is fetched from a CDN. ``_config.yml`` selects the renderer
   with ``html_math_renderer: mathml``. LaTeX that cannot be converted is a build warning
   (an error under ``--warningiserror``) naming the page and the formula.
2. Widgets: the site shows each explorer's static PNG fallback and loads no widget
   JavaScript, so the saved widget state that myst-nb would embed in every page is dead
   weight; it is dropped.
3. Thebe: Jupyter Book always loads sphinx-thebe, which writes its configuration script
   twice per page (a JavaScript error) and points at a CDN. The book does not offer live
   code on the page (the launch buttons open Colab or Binder instead), so its scripts and
   styles are left out of the pages.
4. Icons: the theme's stylesheet already carries the Font Awesome web fonts, and the theme
   also loads ``fontawesome.js`` (1.5 MB, the same icons again as SVG) on every page. That
   script is removed from the written pages to keep each page well inside the 5 MB budget.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number
from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)


def _to_mathml(latex: str, *, display: str, node: nodes.Element) -> str:
    """Return the MathML markup for ``latex``, or the escaped LaTeX after a build warning."""
    try:
        return convert(latex, display=display)
    except Exception as error:  # latex2mathml raises several exception types
        logger.warning(
            "cannot convert math %r to MathML (%s): simplify the LaTeX", latex, error,
            location=node,
        )
        return f"<code>{html.escape(latex)}</code>"


def visit_math(self: HTML5Translator, node: nodes.math) -> None:
    """Write inline math as a ``<math>`` element and skip the node's children."""
    self.body.append(_to_mathml(node.astext(), display="inline", node=node))
    raise nodes.SkipNode


def visit_displaymath(self: HTML5Translator, node: nodes.math_block) -> None:
    """Write display math (one block per blank-line-separated equation) with its number."""
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    for part in (p for p in node.astext().split("\n\n") if p.strip()):
        self.body.append(_to_mathml(part, display="block", node=node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def drop_widget_state(app: Sphinx, doctree: nodes.document) -> None:
    """Forget the ipywidgets state script that myst-nb registered for the page just read."""
    page_data = getattr(app.env, "nb_metadata", {}).get(app.env.docname, {})
    page_data.get("js_files", {}).pop("ipywidgets_state", None)


def _is_thebe(asset: Any) -> bool:
    """Return True if a page's script or stylesheet entry belongs to sphinx-thebe."""
    body = getattr(asset, "attributes", {}).get("body", "")
    return "sphinx-thebe" in str(asset) or "THEBE_JS_URL" in body


def drop_thebe_assets(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Remove the sphinx-thebe scripts and stylesheet from the page about to be written."""
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


FONTAWESOME_SCRIPT = re.compile(
    r"[ \t]*<script[^>]*_static/scripts/fontawesome\.js[^>]*></script>\n?"
)


def drop_fontawesome_script(app: Sphinx, exception: Exception | None) -> None:
    """Remove the theme's ``fontawesome.js`` script tag from every written HTML page."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf8")
        slimmer = FONTAWESOME_SCRIPT.sub("", text)
        if slimmer != text:
            page.write_text(slimmer, encoding="utf8")


def setup(app: Sphinx) -> dict[str, Any]:
    """Return the extension metadata after registering the MathML renderer and widget hook."""
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    app.connect("doctree-read", drop_widget_state)
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    app.connect("build-finished", drop_fontawesome_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

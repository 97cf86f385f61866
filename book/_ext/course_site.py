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
5. Results: the ``{results-table}`` directive (used by ``book/results.md``) tables every
   result the chapters recorded with ``course_lib.evaluate.record``: per chapter one table
   per set of metrics measured together, rows dataset x method, one column per metric (with
   its unit and decimals from ``METRICS``), the recommended method starred. The notebooks
   write their records while they execute, i.e. while Sphinx reads them, so the
   directive only leaves a placeholder node; the tables are built from the JSON-lines files
   in ``course_lib.evaluate.results_dir()`` (``$COURSE_RESULTS``, default
   ``<repo>/_build/results``) at ``doctree-resolved``, after every page was read. Pages
   with the directive are re-read on every build so the tables never go stale.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from latex2mathml.converter import convert
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
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


class results_table(nodes.General, nodes.Element):  # noqa: N801 (docutils node naming)
    """Placeholder left by ``{results-table}``; replaced by tables at ``doctree-resolved``."""


class ResultsTableDirective(SphinxDirective):
    """``{results-table}``: the recorded results, one table per chapter (option ``:chapter:``)."""

    option_spec = {"chapter": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """Return the placeholder node and remember that this page shows recorded results."""
        if not hasattr(self.env, "course_results_docs"):
            self.env.course_results_docs = set()
        self.env.course_results_docs.add(self.env.docname)
        node = results_table(chapter=self.options.get("chapter"))
        self.set_source_info(node)
        return [node]


#: Column header and decimals of the metrics the chapters record, in column order. Any other
#: metric follows in recorded order, headed by its own name, with three decimals.
METRICS = {
    "auc": ("AUC", 3),
    "pauc": ("pAUC (FPR ≤ 0.1)", 3),
    "accuracy": ("Accuracy", 3),
    "accuracy_std": ("Accuracy std over test folds", 3),
    "auc_std_over_seeds": ("AUC std over seeds", 3),
    "alias_level_dbfs": ("Alias level (dBFS)", 1),
    "snr_db": ("SNR (dB)", 1),
    "mean_abs_correlation": ("Mean |correlation| between features", 2),
    "bands_outside_level": ("Bands outside the normal range: level", 0),
    "bands_outside_fluctuation": ("Bands outside the normal range: fluctuation", 0),
}


def _cell(*children: nodes.Node | str) -> nodes.entry:
    """Return a table cell holding one paragraph with ``children`` (strings become text)."""
    paragraph = nodes.paragraph()
    paragraph.extend(nodes.Text(c) if isinstance(c, str) else c for c in children)
    return nodes.entry("", paragraph)


def _table(header: list[str], rows: list[list[nodes.entry]]) -> nodes.table:
    """Return a docutils table with a header row and body ``rows`` of cells."""
    tgroup = nodes.tgroup(cols=len(header))
    tgroup.extend(nodes.colspec(colwidth=1) for _ in header)
    tgroup += nodes.thead("", nodes.row("", *(_cell(text) for text in header)))
    tgroup += nodes.tbody("", *(nodes.row("", *cells) for cells in rows))
    return nodes.table("", tgroup, classes=["results-table"])


def _format(value: Any, decimals: int | None = None) -> str:
    """Return a table text: ``decimals`` places if given, whole keys as ints, missing as –."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if decimals is not None:
        return f"{float(value):.{decimals}f}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return str(value)


def _chapter_table(records: Any) -> nodes.table:
    """Return one table of a chapter: rows dataset x method (x extra keys), metric columns."""
    from course_lib import evaluate

    extras = [c for c in records.columns if c not in evaluate.RECORD_KEYS
              and records[c].notna().any()]
    found = list(dict.fromkeys(records["metric"]))
    metrics = [m for m in METRICS if m in found] + [m for m in found if m not in METRICS]
    keys = ["dataset", "method", *extras]
    rows = []
    for key, group in records.groupby(keys, sort=False, dropna=False):
        values = dict(zip(group["metric"], group["value"], strict=True))
        method = [str(key[1])]
        if group["recommended"].astype(bool).any():
            method += [" ", nodes.strong("", "★ recommended")]
        rows.append([_cell(str(key[0])), _cell(*method)]
                    + [_cell(_format(value)) for value in key[2:]]
                    + [_cell(_format(values.get(m), METRICS.get(m, (m, 3))[1])) for m in metrics])
    header = ["Dataset", "Method", *extras, *(METRICS.get(m, (m, 3))[0] for m in metrics)]
    return _table(header, rows)


def _chapter_tables(records: Any) -> list[nodes.table]:
    """Return the tables of one chapter: one per set of metrics measured on the same rows.

    Rows measured with the same metrics (AUC and pAUC for every detector) share a table; a
    chapter that records different kinds of measurement (an alias level in dBFS, an SNR per
    bit depth) gets one table per kind instead of one wide table full of gaps.
    """
    from course_lib import evaluate

    keys = ["dataset", "method", *(c for c in records.columns if c not in evaluate.RECORD_KEYS)]
    row = records[keys].astype(str).agg("\x1f".join, axis=1)
    measured = records.groupby(row, sort=False)["metric"].transform(
        lambda metrics: "\x1f".join(sorted(set(metrics))))
    return [_chapter_table(part) for _, part in records.groupby(measured, sort=False)]


def _chapter_heading(app: Sphinx, docname: str, chapter: str) -> nodes.rubric:
    """Return a heading ``Chapter NN: title`` linking to the chapter page when it is found."""
    target = next((d for d in sorted(app.env.found_docs)
                   if Path(d).name.startswith(f"{chapter}_")), None)
    if target is None:
        return nodes.rubric("", f"Chapter {chapter}")
    title = app.env.titles[target].astext() if target in app.env.titles else target
    title = title.removeprefix(f"{chapter} ")  # chapter pages are titled "04 Outlier ..."
    uri = app.builder.get_relative_uri(docname, target)
    link = nodes.reference("", f"Chapter {chapter}: {title}", refuri=uri, internal=True)
    return nodes.rubric("", "", link)


def _results_nodes(app: Sphinx, docname: str, node: results_table) -> list[nodes.Node]:
    """Return the heading + table per recorded chapter, or a note when nothing is recorded."""
    from course_lib import evaluate

    empty = "No results have been recorded yet: they appear here once the chapters ran."
    try:
        records = evaluate.read_records()
    except ValueError as error:  # a damaged records file: say which one and how to fix it
        logger.warning("cannot read the recorded results: %s", error, location=node)
        return [nodes.paragraph("", empty, classes=["results-empty"])]
    if node.get("chapter"):
        records = records[records["chapter"] == node["chapter"]]
    if records.empty:
        return [nodes.paragraph("", empty, classes=["results-empty"])]
    found = []
    for chapter, group in records.groupby("chapter", sort=True):
        found += [_chapter_heading(app, docname, str(chapter)), *_chapter_tables(group)]
    return found


def fill_results_tables(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace every results placeholder of the page being written by the recorded tables."""
    for node in list(doctree.findall(results_table)):
        node.replace_self(_results_nodes(app, docname, node))


def reread_results_pages(
    app: Sphinx, env: BuildEnvironment, added: set, changed: set, removed: set
) -> list[str]:
    """Return the pages with a results table: they are re-read (and rewritten) every build."""
    return sorted(getattr(env, "course_results_docs", set()) - set(removed))


def forget_results_page(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """Forget that ``docname`` shows results (it is about to be re-read or was removed)."""
    getattr(env, "course_results_docs", set()).discard(docname)


def merge_results_pages(
    app: Sphinx, env: BuildEnvironment, docnames: set, other: BuildEnvironment
) -> None:
    """Merge the results pages found by a parallel reader into the main environment."""
    if not hasattr(env, "course_results_docs"):
        env.course_results_docs = set()
    env.course_results_docs |= getattr(other, "course_results_docs", set()) & set(docnames)


def setup(app: Sphinx) -> dict[str, Any]:
    """Return the extension metadata after registering the math, widget and results hooks."""
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    app.connect("doctree-read", drop_widget_state)
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    app.connect("build-finished", drop_fontawesome_script)
    app.add_node(results_table)
    app.add_directive("results-table", ResultsTableDirective)
    app.connect("doctree-resolved", fill_results_tables)
    app.connect("env-get-outdated", reread_results_pages)
    app.connect("env-purge-doc", forget_results_page)
    app.connect("env-merge-info", merge_results_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

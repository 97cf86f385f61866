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
5. Results: the ``{results-table}`` directive (used by ``book/results.md``) shows every
   result the chapters recorded with ``course_lib.evaluate.record``, in one of three views.
   ``:view: headline`` tables the recommended method per chapter and dataset with its main
   metric (an AUC with its 95 % interval when ``auc_low``/``auc_high`` were recorded), next
   to the published anchor figures that the directive's content lines name (they may cite).
   ``:view: figure`` draws the recommended AUCs with their intervals (matplotlib, Agg, a PNG
   at 2x pixels written to ``_images/``). The default view gives per chapter one table per
   set of metrics measured together, rows grouped by dataset, one column per metric (unit
   and decimals from ``METRICS``), the recommended method starred, and keys that are the
   same in every row of a chapter (the seed of a default run) stated once above its tables.
   The notebooks write their records while they execute, i.e. while Sphinx reads them, so
   the directive only leaves a placeholder node; the views are built from the JSON-lines
   files in ``course_lib.evaluate.results_dir()`` (``$COURSE_RESULTS``, default
   ``<repo>/_build/results``) at ``doctree-resolved``, after every page was read. Pages
   with the directive are re-read on every build so the tables never go stale.
"""

from __future__ import annotations

import html
import posixpath
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
    """Placeholder left by ``{results-table}``; replaced by tables at ``doctree-resolved``.

    Its children (if any) are the parsed descriptions of the published anchor figures: they
    stay in the tree until then so that their citations are resolved like any other.
    """


#: The views of ``{results-table}``: the headline table, the AUC figure, the detail tables.
VIEWS = ("headline", "figure", "details")


class ResultsTableDirective(SphinxDirective):
    """``{results-table}``: the recorded results (options ``:view:`` and ``:chapter:``).

    With ``:view: headline`` every content line names a published anchor figure:
    ``METRIC DATASET[,DATASET...] | VALUE | description`` (the description may cite).
    """

    option_spec = {"chapter": directives.unchanged,
                   "view": lambda text: directives.choice(text, VIEWS)}
    has_content = True

    def run(self) -> list[nodes.Node]:
        """Return the placeholder node and remember that this page shows recorded results."""
        if not hasattr(self.env, "course_results_docs"):
            self.env.course_results_docs = set()
        self.env.course_results_docs.add(self.env.docname)
        node = results_table(chapter=self.options.get("chapter"),
                             view=self.options.get("view", "details"), anchors=[])
        for line in (line for line in self.content if line.strip()):
            key, value, text = ([*(part.strip() for part in line.split("|", 2))] + ["", ""])[:3]
            if len(key.split()) != 2 or not text:
                raise self.error(f"anchor line {line!r}: write 'METRIC DATASETS | VALUE | text'")
            metric, datasets = key.split()
            holder = nodes.inline("", "", *self.parse_text_to_nodes(text))
            for paragraph in list(holder.findall(nodes.paragraph)):
                paragraph.replace_self(paragraph.children)
            node["anchors"].append((metric, datasets.split(","), value))
            node += holder
        self.set_source_info(node)
        return [node]


#: Column header and decimals of the metrics the chapters record, in column order. Any other
#: metric follows in recorded order, headed by its own name, with three decimals.
METRICS = {
    "f2": ("F2", 3),
    "f2_std_over_seeds": ("F2 std over seeds", 3),
    "recall": ("Recall", 3),
    "recall_std_over_seeds": ("Recall std over seeds", 3),
    "auc": ("AUC", 3),
    "pauc": ("pAUC (FPR ≤ 0.1)", 3),
    "accuracy": ("Accuracy", 3),
    "accuracy_std": ("Accuracy std over test folds", 3),
    "auc_std_over_seeds": ("AUC std over seeds", 3),
    "f2_held_out_id": ("F2, held-out machine ID", 3),
    "auc_held_out_id": ("AUC, held-out machine ID", 3),
    "alias_level_dbfs": ("Alias level (dBFS)", 1),
    "snr_db": ("SNR (dB)", 1),
    "mean_abs_correlation": ("Mean |correlation| between features", 2),
    "bands_outside_level": ("Bands outside the normal range: level", 0),
    "bands_outside_fluctuation": ("Bands outside the normal range: fluctuation", 0),
}
#: Metrics recorded as the 95 % interval of another: shown inside its cell, never as columns.
INTERVALS = {"auc": ("auc_low", "auc_high")}
_BOUNDS = {bound for pair in INTERVALS.values() for bound in pair}
#: Metrics that describe a spread, never a headline result; the headline shows them as ±.
SPREADS = {"accuracy_std", "auc_std_over_seeds", "f2_std_over_seeds", "recall_std_over_seeds"}
SPREAD_OF = {"accuracy": "accuracy_std", "f2": "f2_std_over_seeds"}
#: In the detail tables a metric ``m`` recorded with ``m + SEED_SPREAD`` shows it as ``± std``
#: in its own cell instead of a column of its own, so a chapter's table fits the page.
SEED_SPREAD = "_std_over_seeds"


def _cell(*children: nodes.Node | str, rows: int = 1) -> nodes.entry:
    """Return a table cell holding one paragraph with ``children`` spanning ``rows`` rows."""
    paragraph = nodes.paragraph()
    paragraph.extend(nodes.Text(c) if isinstance(c, str) else c for c in children)
    entry = nodes.entry("", paragraph)
    if rows > 1:
        entry["morerows"] = rows - 1
    return entry


def _table(header: list[str], rows: list[list[nodes.entry]], kind: str) -> nodes.table:
    """Return a docutils table with a header row and body ``rows`` of cells."""
    tgroup = nodes.tgroup(cols=len(header))
    tgroup.extend(nodes.colspec(colwidth=1) for _ in header)
    tgroup += nodes.thead("", nodes.row("", *(_cell(text) for text in header)))
    tgroup += nodes.tbody("", *(nodes.row("", *cells) for cells in rows))
    return nodes.table("", tgroup, classes=[kind])


def _format(value: Any, decimals: int | None = None) -> str:
    """Return a table text: ``decimals`` places if given, whole keys as ints, missing as –."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if decimals is not None:
        return f"{float(value):.{decimals}f}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return str(value)


def _value_text(metric: str, values: dict[str, Any]) -> str:
    """Return ``values[metric]`` formatted, with its 95 % interval when both bounds exist."""
    decimals = METRICS.get(metric, (metric, 3))[1]
    text = _format(values.get(metric), decimals)
    low, high = (values.get(bound) for bound in INTERVALS.get(metric, ("", "")))
    if text != "–" and low is not None and high is not None:
        text += f" [{_format(low, decimals)}, {_format(high, decimals)}]"
    return text


def _spread_text(metric: str, values: dict[str, Any]) -> str:
    """Return :func:`_value_text` of ``metric`` with `` ± std`` when its seed spread exists."""
    text = _value_text(metric, values)
    spread = values.get(metric + SEED_SPREAD)
    if text != "–" and spread is not None:
        text += f" ± {_format(spread, METRICS.get(metric, (metric, 3))[1])}"
    return text


def _extras(records: Any) -> list[str]:
    """Return the extra key columns of ``records`` that hold at least one value."""
    from course_lib import evaluate

    return [c for c in records.columns
            if c not in evaluate.RECORD_KEYS and records[c].notna().any()]


def _constant_extras(records: Any) -> dict[str, Any]:
    """Return the extra keys with one and the same value in every record (e.g. ``seed=0``)."""
    return {c: records[c].iloc[0] for c in _extras(records)
            if records[c].notna().all() and records[c].nunique() == 1}


def _chapter_table(records: Any, constant: dict[str, Any]) -> nodes.table:
    """Return one table of a chapter: rows dataset x method (x extra keys), metric columns.

    The dataset cell spans the rows of its dataset; keys constant over the whole chapter
    (``constant``) get no column, the caller states them once above the tables.
    """
    extras = [c for c in _extras(records) if c not in constant]
    found = [m for m in dict.fromkeys(records["metric"]) if m not in _BOUNDS]
    inside = {m + SEED_SPREAD for m in found if m + SEED_SPREAD in found}
    found = [m for m in found if m not in inside]
    metrics = [m for m in METRICS if m in found] + [m for m in found if m not in METRICS]
    rows = []
    for dataset, part in records.groupby("dataset", sort=False):
        groups = list(part.groupby(["method", *extras], sort=False, dropna=False))
        for index, (key, group) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            values = dict(zip(group["metric"], group["value"], strict=True))
            method = [str(key[0])]
            if group["recommended"].astype(bool).any():
                method += [" ", nodes.strong("", "★ recommended")]
            cells = [_cell(str(dataset), rows=len(groups))] if index == 0 else []
            rows.append(cells + [_cell(*method)] + [_cell(_format(v)) for v in key[1:]]
                        + [_cell(_spread_text(m, values)) for m in metrics])
    header = ["Dataset", "Method", *extras,
              *(METRICS.get(m, (m, 3))[0] + (" ± std over seeds" if m + SEED_SPREAD in inside
                                               else "") for m in metrics)]
    return _table(header, rows, "results-table")


def _chapter_tables(records: Any) -> list[nodes.Node]:
    """Return a chapter's note on constant keys and one table per set of metrics measured.

    Rows measured with the same metrics (AUC and pAUC for every detector) share a table; a
    chapter that records different kinds of measurement (an alias level in dBFS, an SNR per
    bit depth) gets one table per kind instead of one wide table full of gaps.
    """
    from course_lib import evaluate

    keys = ["dataset", "method", *(c for c in records.columns if c not in evaluate.RECORD_KEYS)]
    row = records[keys].astype(str).agg("\x1f".join, axis=1)
    measured = records.groupby(row, sort=False)["metric"].transform(
        lambda metrics: "\x1f".join(sorted(set(metrics) - _BOUNDS)))
    constant = _constant_extras(records)
    found: list[nodes.Node] = []
    if constant:
        same = ", ".join(f"{key} = {_format(value)}" for key, value in constant.items())
        found.append(nodes.paragraph("", f"Every row of this chapter was recorded with {same}.",
                                     classes=["results-constant"]))
    return found + [_chapter_table(part, constant)
                    for _, part in records.groupby(measured, sort=False)]


def _chapter_heading(app: Sphinx, docname: str, chapter: str) -> nodes.rubric:
    """Return a heading ``Chapter NN: title`` linking to the chapter page when it is found."""
    target = _chapter_doc(app, chapter)
    if target is None:
        return nodes.rubric("", f"Chapter {chapter}")
    title = app.env.titles[target].astext() if target in app.env.titles else target
    title = title.removeprefix(f"{chapter} ")  # chapter pages are titled "04 Outlier ..."
    uri = app.builder.get_relative_uri(docname, target)
    link = nodes.reference("", f"Chapter {chapter}: {title}", refuri=uri, internal=True)
    return nodes.rubric("", "", link)


def _chapter_doc(app: Sphinx, chapter: str) -> str | None:
    """Return the document name of chapter ``chapter`` (``notebooks/04_...``), or None."""
    return next((d for d in sorted(app.env.found_docs)
                 if Path(d).name.startswith(f"{chapter}_")), None)


def _headline_rows(records: Any) -> list[dict[str, Any]]:
    """Return one row per chapter, dataset and recommended method (extra keys kept apart).

    Each row holds the main metric (the first of ``METRICS`` the method recorded that is not a
    spread or an interval bound), its formatted value with interval, and the raw numbers.
    """
    rows = []
    recommended = records[records["recommended"].astype(bool)]
    extras = [c for c in _extras(recommended) if c not in _constant_extras(recommended)]
    for key, group in recommended.groupby(["chapter", "dataset", "method", *extras],
                                          sort=False, dropna=False):
        values = dict(zip(group["metric"], group["value"], strict=True))
        candidates = [m for m in METRICS if m in values and m not in SPREADS]
        metric = (candidates or [m for m in values if m not in _BOUNDS | SPREADS] or [None])[0]
        if metric is None:
            continue
        low, high = (values.get(b) for b in INTERVALS.get(metric, ("", "")))
        text = _value_text(metric, values)
        if values.get(SPREAD_OF.get(metric)) is not None:
            spread = values[SPREAD_OF[metric]]
            text += f" ± {_format(spread, METRICS[metric][1])}"
        # keys another chapter recorded (missing here) do not label this row
        label = ", ".join([str(key[2]), *(f"{c} {_format(v)}" for c, v in zip(extras, key[3:],
                                                                             strict=True)
                                          if _format(v) != "–")])
        rows.append({"chapter": str(key[0]), "dataset": str(key[1]), "method": label,
                     "metric": metric, "value": values[metric], "low": low, "high": high,
                     "text": text})
    return rows


def _headline(app: Sphinx, docname: str, node: results_table, records: Any) -> list[nodes.Node]:
    """Return the headline table: recommended method per chapter and dataset, with anchors."""
    descriptions = [child.deepcopy() for child in node.children]
    rows = []
    for row in _headline_rows(records):
        anchors: list[nodes.Node | str] = []
        for (metric, datasets, value), text in zip(node["anchors"], descriptions, strict=True):
            if metric == row["metric"] and row["dataset"] in datasets:
                anchors += [*(["; "] if anchors else []), nodes.strong("", value), " ",
                            *text.deepcopy().children]
        target = _chapter_doc(app, row["chapter"])
        chapter: nodes.Node | str = row["chapter"]
        if target is not None:
            chapter = nodes.reference("", row["chapter"], internal=True,
                                      refuri=app.builder.get_relative_uri(docname, target))
        rows.append([_cell(chapter), _cell(row["dataset"]), _cell(row["method"]),
                     _cell(f"{METRICS.get(row['metric'], (row['metric'], 3))[0]} ",
                           nodes.strong("", row["text"])),
                     _cell(*(anchors or ["–"]))])
    if not rows:
        return [nodes.paragraph("", "No chapter has recorded a recommended method yet.",
                                classes=["results-empty"])]
    header = ["Chapter", "Dataset", "Recommended method", "Result",
              "Published figure on the real dataset"]
    return [_table(header, rows, "results-headline")]


def _figure(app: Sphinx, docname: str, records: Any) -> list[nodes.Node]:
    """Return an image of the recommended methods' AUC with 95 % intervals (PNG, 2x pixels)."""
    from matplotlib.figure import Figure

    rows = [row for row in _headline_rows(records) if row["metric"] == "auc"]
    if not rows:
        return [nodes.paragraph("", "No recommended method has recorded an AUC yet.",
                                classes=["results-empty"])]
    width_px, dpi = 680, 200
    figure = Figure(figsize=(width_px / 100, 0.9 + 0.32 * len(rows)), dpi=100)
    axes = figure.add_subplot()
    labels = [f"ch. {row['chapter']} · {row['dataset']}" for row in rows][::-1]
    centres = [row["value"] for row in rows][::-1]
    has = [row["low"] is not None and row["high"] is not None for row in rows][::-1]
    lows = [c - r["low"] if h else 0 for c, r, h in zip(centres, rows[::-1], has, strict=True)]
    highs = [r["high"] - c if h else 0 for c, r, h in zip(centres, rows[::-1], has, strict=True)]
    axes.errorbar(centres, range(len(rows)), xerr=[lows, highs], fmt="o", color="#0072B2",
                  ecolor="#56B4E9", elinewidth=3, capsize=3,
                  label="AUC with 95 % interval" if any(has) else "AUC (no interval recorded)")
    axes.axvline(0.5, color="#777777", linestyle="--", linewidth=1, label="chance (0.5)")
    axes.set(yticks=range(len(rows)), xlim=(0.4, 1.02), xlabel="AUC on the test split")
    axes.set_yticklabels(labels)
    low_auc, high_auc = min(r["value"] for r in rows), max(r["value"] for r in rows)
    axes.set_title(f"Recommended detectors reach AUC {low_auc:.2f}–{high_auc:.2f} on toy data",
                   fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    folder = Path(app.outdir) / "_images"
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "course-results-auc.png", dpi=dpi)
    height_px = round(figure.get_figheight() * 100)
    uri = posixpath.relpath("_images/course-results-auc.png", posixpath.dirname(docname) or ".")
    alt = "AUC of the recommended method per chapter and dataset, with 95 % intervals"
    image = nodes.image(uri=uri, alt=alt, width=f"{width_px}px", height=f"{height_px}px",
                        candidates={"?": uri}, classes=["results-figure"])
    return [image]


def _results_nodes(app: Sphinx, docname: str, node: results_table) -> list[nodes.Node]:
    """Return the nodes of one view of the results, or a note when nothing is recorded."""
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
    if node.get("view") == "headline":
        return _headline(app, docname, node, records)
    if node.get("view") == "figure":
        return _figure(app, docname, records)
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

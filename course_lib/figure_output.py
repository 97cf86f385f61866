"""How figures reach the page: sharp, compact PNGs shown at their intended size (chapter 01).

Jupyter's inline backend saves a figure at its dpi and the site shows it at that many pixels,
so an 8-inch figure at 80 dpi is 640 pixels wide and looks soft on a high-density screen.
:func:`use_sharp_figures` (called by :func:`course_lib.notebook.setup`) makes every figure a
PNG drawn at twice the pixels, with its display size (``width``/``height``) stored in the
output's metadata; myst-nb and JupyterLab honour it, so the figure keeps its size on the page
while ticks and labels stay crisp. The PNG is reduced to 256 colours, which keeps it about
as small as the soft one.

The text column of the site is 688 pixels wide at a 1280-pixel window: figures up to
``MAX_WIDTH_IN`` inches wide fit it without being shrunk.
"""

from __future__ import annotations

import importlib
import io

import PIL.Image
from matplotlib.figure import Figure

#: Page pixels per figure inch (an 8-inch figure is 640 pixels on the page).
DISPLAY_DPI = 80
#: Drawn pixels per page pixel.
SHARP_SCALE = 2
#: Widest figure (inches) that fits the text column at 1280 px without shrinking.
MAX_WIDTH_IN = 8.5
#: Margin (inches) kept around the drawing when the empty border is trimmed.
TIGHT_PAD_IN = 0.04


def figure_png(fig: Figure, *, dpi: int, tight: bool = False) -> bytes:
    """Return ``fig`` rendered at ``dpi`` as a compact 256-colour PNG (chapter 01).

    A palette PNG is about a third of the size of Matplotlib's RGBA output and looks the
    same here: colormaps have 256 entries. ``tight`` trims the empty margin, as Jupyter's
    inline backend does.
    """
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=dpi, bbox_inches="tight" if tight else None,
                pad_inches=TIGHT_PAD_IN,
                facecolor="white")
    image = PIL.Image.open(rendered).convert("RGB")
    palette = image.quantize(colors=256, dither=PIL.Image.Dither.NONE)
    compact = io.BytesIO()
    palette.save(compact, format="png", optimize=True)
    return compact.getvalue()


def sharp_png(fig: Figure) -> tuple[bytes, dict[str, int]]:
    """Return ``(png, metadata)``: ``fig`` drawn at twice its page pixels, and its page size.

    ``metadata`` is ``{"width": ..., "height": ...}`` in page pixels (``DISPLAY_DPI`` per
    inch), the form IPython's ``image/png`` formatters return.
    """
    png = figure_png(fig, dpi=DISPLAY_DPI * SHARP_SCALE, tight=True)
    width, height = PIL.Image.open(io.BytesIO(png)).size
    return png, {"width": width // SHARP_SCALE, "height": height // SHARP_SCALE}


def use_sharp_figures() -> bool:
    """Return True after making :func:`sharp_png` IPython's PNG formatter for figures.

    Returns False (and changes nothing) outside IPython, e.g. in a plain Python script.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        return False
    shell = get_ipython()
    if shell is None:
        return False
    # Jupyter's inline backend picks its figure formats once, when its module is first
    # imported (lazily, at the first figure); import it now so it cannot replace ours.
    importlib.import_module("matplotlib_inline.backend_inline")
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, sharp_png)
    return True

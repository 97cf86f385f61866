"""Tests for course_lib.figure_output: sharp PNGs shown at their page size."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import PIL.Image
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

from course_lib import figure_output


def _figure(width=8.0, height=3.0):
    fig = Figure(figsize=(width, height))
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


def test_sharp_png_has_twice_the_pixels_of_its_page_size():
    png, metadata = figure_output.sharp_png(_figure())
    image = PIL.Image.open(io.BytesIO(png))
    assert image.mode == "P"  # 256-colour palette: compact
    assert image.size[0] // 2 == metadata["width"] and image.size[1] // 2 == metadata["height"]
    # trimmed to the drawing plus a thin margin, at 80 page pixels per inch
    pad = 2 * figure_output.TIGHT_PAD_IN
    assert 400 < metadata["width"] <= (8 + pad) * 80 and metadata["height"] <= (3 + pad) * 80


def test_figures_in_ipython_use_the_sharp_formatter():
    shell = InteractiveShell.instance()
    try:
        assert figure_output.use_sharp_figures()
        fig = plt.figure(figsize=(4, 2))
        data, metadata = shell.display_formatter.format(fig)
        pad = 2 * figure_output.TIGHT_PAD_IN
        assert metadata["image/png"]["width"] <= (4 + pad) * figure_output.DISPLAY_DPI
        image = PIL.Image.open(io.BytesIO(data["image/png"]))
        assert image.size[0] > 1.9 * metadata["image/png"]["width"]
        plt.close(fig)
    finally:
        InteractiveShell.clear_instance()


def test_without_ipython_nothing_changes():
    assert not figure_output.use_sharp_figures()

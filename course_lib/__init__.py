"""Helper package for the Machine Listening course book.

Each module serves one concern and names the chapter that introduces it:
``audio`` (01), ``features`` (02), ``synth`` and ``datasets`` (03),
``plots``, ``widgets`` and ``notebook`` (all chapters).
Import the modules you need, e.g. ``from course_lib import audio, features``.
"""

__version__ = "0.1.0"

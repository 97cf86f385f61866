"""Helper package for the Machine Listening course book.

Each module serves one concern and names the chapter that introduces it:
``audio`` (01), ``features`` (02), ``synth`` and ``datasets`` (03; ``datasets.load`` is the
one entry point, backed by ``clip_table``, ``toy_datasets`` and ``real_datasets``; ``data``
installs the real datasets),
``anomaly`` and ``evaluate`` (04), ``models`` (05), ``plots``, ``widgets``, ``notebook`` and
``errors`` (all chapters; every exception the course raises derives from
``errors.CourseError``).
Import the modules you need, e.g. ``from course_lib import audio, features``.
"""

__version__ = "0.1.0"

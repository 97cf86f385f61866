"""The exceptions the course raises, all under :class:`CourseError` (introduced in chapter 01).

Every exception class of ``course_lib`` and ``data_scripts`` derives from :class:`CourseError`,
so a notebook can catch anything the course refused with ``except CourseError:``. Each also
keeps a built-in base that says what kind of problem it is (``ValueError`` for unusable
input, ``FileNotFoundError`` for missing data, ``RuntimeError`` for a failed download), so
``except ValueError:`` keeps working as well.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base of every exception the course raises; its message says what to do (chapter 01)."""


class AudioError(CourseError, ValueError):
    """Raised for any unusable audio file or signal; the message says what to do (chapter 01)."""

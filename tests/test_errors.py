"""Every exception class of course_lib and data_scripts derives from CourseError (chapter 01).

The modules are walked, not listed, so an exception class added later is checked as well.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import course_lib
import data_scripts
from course_lib.errors import CourseError


def _exception_classes() -> list[type[BaseException]]:
    """Return every exception class defined (not just imported) in the two packages."""
    found = []
    for package in (course_lib, data_scripts):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            found += [
                cls for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__
            ]
    return found


EXCEPTIONS = _exception_classes()


def test_the_walk_finds_the_known_exceptions():
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"CourseError", "AudioError", "DatasetError", "ArchiveError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_exception_derives_from_course_error_and_a_builtin_kind(cls):
    assert issubclass(cls, CourseError)
    if cls is not CourseError:  # ValueError, FileNotFoundError, RuntimeError: what went wrong
        builtins = [base for base in cls.__mro__ if base.__module__ == "builtins"]
        assert set(builtins) - {Exception, BaseException, object}, f"{cls} has no built-in kind"

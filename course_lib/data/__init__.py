"""The real datasets of the course: where they come from and how they are installed (chapter 03).

``registry`` lists the downloadable archives, ``download`` fetches, verifies and installs them,
``extract`` unpacks an archive safely and ``lockfile`` keeps the checksum lock and completion
markers under the data root. ``python -m data_scripts.download`` is the command line on top;
:mod:`course_lib.real_datasets` reads the installed folders.
"""

"""Download, verify and extract the real datasets of the course (chapter 03).

Usage::

    python -m data_scripts.download --list
    python -m data_scripts.download anomaly_mini esc50
    python -m data_scripts.download mimii:valve:6dB dcase2020_task2:ToyCar
    python -m data_scripts.download anomaly_mini --from-file ~/Downloads/anomaly_mini.zip

The work is done by :func:`course_lib.data.download.install` (pooch downloads with a progress
bar and retries, hash checks, safe all-or-nothing extraction); this module parses the
arguments, prints the results and returns the exit status. Archives are deleted after
extraction unless ``--keep-archive`` is given. Running the command for a dataset that is
present and verified does no work.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from course_lib import paths
from course_lib.data import registry
from course_lib.data.download import DownloadError, install, list_datasets

_EPILOG = f"""\
dataset names:
  anomaly_mini                 30 MIMII valve clips (3.5 MB), the offline-friendly default
  mimii:<machine>:<snr>        machine: {'|'.join(registry.MIMII_MACHINES)}; snr: \
{'|'.join(registry.MIMII_SNRS)}  (e.g. mimii:valve:-6dB)
  dcase2020_task2:<machine>    machine: {'|'.join(registry.DCASE2020_MACHINES)}
  esc50, urbansound8k

Data goes to ${paths.DATA_ENV_VAR} (default {paths.DEFAULT_DATA_ROOT}). Checksums: published
ones are pinned; otherwise the sha256 of the first download is recorded in
<data root>/{registry.LOCK_FILE} and checked on every later use.
Set ${registry.MIRROR_ENV_VAR}=URL to fetch every archive as URL/<archive file name>.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of ``python -m data_scripts.download``."""
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts.download",
        description="Download, verify and extract the real datasets of the course.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="dataset name(s), see below")
    parser.add_argument("--list", action="store_true", help="show all datasets and exit")
    parser.add_argument("--from-file", type=Path, metavar="PATH",
                        help="register an archive you downloaded yourself (one NAME, no network)")
    parser.add_argument("--root", type=Path, help=f"data root (default: ${paths.DATA_ENV_VAR})")
    parser.add_argument("--keep-archive", action="store_true",
                        help="keep downloaded archives in <data root>/downloads")
    parser.add_argument("--retries", type=int, default=2, help="extra attempts (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit status of the download command (0 = every dataset is ready)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    root = (args.root or paths.data_root()).expanduser().absolute()
    if args.list:
        print(list_datasets(root))
        return 0
    if not args.names:
        parser.error("give at least one dataset NAME, or --list")
    if args.from_file is not None and len(args.names) != 1:
        parser.error("--from-file registers exactly one archive: give exactly one NAME")
    failed = []
    for name in args.names:
        try:
            install(name, root=root, from_file=args.from_file, progress=not args.no_progress,
                    retries=args.retries, keep_archive=args.keep_archive)
        except (KeyError, OSError, ValueError, DownloadError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            print(f"error: {message}", file=sys.stderr)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

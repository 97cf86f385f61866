"""The real datasets the course can download, kept as plain data (chapter 03).

Each :class:`Source` says where one archive comes from, how to check it, under which licence
it is published and where it goes below the data root. :mod:`course_lib.data.download` fetches
and extracts archives; :mod:`course_lib.real_datasets` reads the extracted folders.

Naming scheme
-------------
* ``anomaly_mini``: 30 MIMII valve clips (6 dB), small enough for any laptop.
* ``mimii:<machine>:<snr>``: one MIMII archive, machine ``fan|pump|slider|valve`` and
  SNR ``6dB|0dB|-6dB``, e.g. ``mimii:valve:-6dB``.
* ``dcase2020_task2:<machine>``: DCASE 2020 Task 2 development data, machine
  ``fan|pump|slider|valve|ToyCar|ToyConveyor``.
* ``esc50`` and ``urbansound8k``.

Checksums: ``known_hash`` is pooch's ``"<alg>:<hex>"`` form. The anomaly_mini sha256 pins the
archive at its ``url``; the Zenodo md5 sums are the ones Zenodo publishes for each file. ESC-50
is published as a GitHub repository without checksums; the course downloads the archive of
one fixed commit (:data:`ESC50_COMMIT`), so its content cannot move, and records the sha256
of the first download in the lock file (see :mod:`course_lib.data.lockfile`).

Published formats: :attr:`Source.sample_rate` and :attr:`Source.channels` are the format every
file of the dataset has according to its documentation (:attr:`Source.documentation`); the
loaders refuse files that differ. ``None`` means the dataset mixes formats (UrbanSound8K
keeps the format of each Freesound upload).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MIRROR_ENV_VAR = "COURSE_DOWNLOAD_MIRROR"
LOCK_FILE = "checksums.lock.json"
MARKER_FILE = ".complete.json"
DOWNLOADS_FOLDER = "downloads"

MIMII_MACHINES = ("fan", "pump", "slider", "valve")
MIMII_SNRS = {"6dB": 6.0, "0dB": 0.0, "-6dB": -6.0}
DCASE2020_MACHINES = ("fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor")
#: The ESC-50 commit whose archive the course downloads (a 2021 state of master; the audio
#: and metadata have not changed since release 2.0.0 of 2017).
ESC50_COMMIT = "5983fb0c35e751b452e7c562d9207f27b76ddf0d"

_MIMII_DOCS = "https://zenodo.org/records/3384388 (Purohit et al., 2019, arXiv:1909.09347)"
_DCASE_DOCS = ("https://dcase.community/challenge2020/task-unsupervised-detection-of-"
               "anomalous-sounds (Koizumi et al., 2020)")


@dataclass(frozen=True)
class Source:
    """One downloadable archive: its origin, checks, licence and destination (chapter 03).

    Attributes:
        name: dataset name used on the command line and in ``dataset=`` parameters.
        url: official download address.
        filename: archive file name (also its name under a mirror, see :func:`url_for`).
        known_hash: pinned ``"sha256:…"`` or ``"md5:…"``; ``None`` = record at first download.
        size_bytes: archive size in bytes (exact where published, else approximate).
        licence: licence of the recordings.
        kind: ``"zip"`` or ``"tar.gz"``.
        folder: destination folder relative to the data root (``/`` separated).
        description: one line about the content.
        documentation: where the layout and format are published.
        sample_rate: the published sample rate of every file in Hz, ``None`` if it varies.
        channels: the published channel count of every file, ``None`` if it varies.
    """

    name: str
    url: str
    filename: str
    known_hash: str | None
    size_bytes: int
    licence: str
    kind: str
    folder: str
    description: str
    documentation: str
    sample_rate: int | None
    channels: int | None


_ZENODO = "https://zenodo.org/records/{record}/files/{filename}?download=1"

_MIMII_MD5 = {
    ("fan", "-6dB"): "f02ae808a58d84b6815b7ec38ff30879",
    ("pump", "-6dB"): "d20b783a0ff9c93d58f452f98c37b112",
    ("slider", "-6dB"): "49913eda7d37f182cbf8ed5c984140e0",
    ("valve", "-6dB"): "fdfaf185fea61b21e11952a070a4ada7",
    ("fan", "0dB"): "6354d1cc2165c52168f9ef1bcd9c7c52",
    ("pump", "0dB"): "488748295c3f60b25de07b58fe75b049",
    ("slider", "0dB"): "4d674c21474f0646ecd75546db6c0c4e",
    ("valve", "0dB"): "178478eb0d11c79080a35562bfdeee71",
    ("fan", "6dB"): "0890f7d3c2fd8448634e69ff1d66dd47",
    ("pump", "6dB"): "a09ba6060c10fc09cd4c8770213b0b9f",
    ("slider", "6dB"): "838c2b3441858359c4704ef13a1b27ff",
    ("valve", "6dB"): "fe5fb7c337cd701b1d31dc641e621892",
}
_MIMII_BYTES = {
    ("fan", "-6dB"): 10_878_096_548,
    ("pump", "-6dB"): 8_236_951_723,
    ("slider", "-6dB"): 7_951_254_230,
    ("valve", "-6dB"): 8_037_536_346,
    ("fan", "0dB"): 10_411_902_283,
    ("pump", "0dB"): 7_869_431_302,
    ("slider", "0dB"): 7_508_958_315,
    ("valve", "0dB"): 7_486_536_802,
    ("fan", "6dB"): 10_158_673_161,
    ("pump", "6dB"): 7_659_077_508,
    ("slider", "6dB"): 7_129_464_289,
    ("valve", "6dB"): 6_915_951_837,
}
_DCASE_MD5 = {
    "fan": "649bdfc06263ae7a838963f43b6641e6",
    "pump": "90e7091ef722b7238a7f1009365779cd",
    "slider": "da24a757719f0d94d5aa2d646bbfdc86",
    "valve": "34d2672f55bb041589ef79c10dc89934",
    "ToyCar": "4dec75ca8d9f666aa9e4c1894a740501",
    "ToyConveyor": "03b6aa1bfd09a39d53af0ba39f71fa91",
}
_DCASE_BYTES = {
    "fan": 1_354_774_772,
    "pump": 1_031_279_015,
    "slider": 1_002_998_966,
    "valve": 1_013_925_627,
    "ToyCar": 1_816_443_231,
    "ToyConveyor": 1_868_564_070,
}


def snr_folder(snr: str) -> str:
    """Return the folder name for a MIMII SNR key (``"-6dB"`` -> ``"min6dB"``, no leading dash)."""
    return snr.replace("-", "min")


def _mimii(machine: str, snr: str) -> Source:
    """Return the :class:`Source` of one MIMII archive (machine type x SNR)."""
    filename = f"{snr.removesuffix('dB')}_dB_{machine}.zip"
    return Source(
        name=f"mimii:{machine}:{snr}",
        url=_ZENODO.format(record=3384388, filename=filename),
        filename=filename,
        known_hash=f"md5:{_MIMII_MD5[machine, snr]}",
        size_bytes=_MIMII_BYTES[machine, snr],
        licence="CC BY-SA 4.0",
        kind="zip",
        folder=f"mimii/{snr_folder(snr)}/{machine}",
        description=f"MIMII {machine}, SNR {snr}: 8-channel 16 kHz 10 s clips, 4 machine IDs",
        documentation=_MIMII_DOCS,
        sample_rate=16000,
        channels=8,
    )


def _dcase(machine: str) -> Source:
    """Return the :class:`Source` of one DCASE 2020 Task 2 development archive."""
    filename = f"dev_data_{machine}.zip"
    return Source(
        name=f"dcase2020_task2:{machine}",
        url=_ZENODO.format(record=3678171, filename=filename),
        filename=filename,
        known_hash=f"md5:{_DCASE_MD5[machine]}",
        size_bytes=_DCASE_BYTES[machine],
        licence="CC BY-NC-SA 4.0",
        kind="zip",
        folder=f"dcase2020_task2/{machine}",
        description=f"DCASE 2020 Task 2 dev data, {machine}: 16 kHz mono 10 s clips",
        documentation=_DCASE_DOCS,
        sample_rate=16000,
        channels=1,
    )


def _fixed_sources() -> list[Source]:
    """Return the sources that are single datasets (not per machine or SNR)."""
    return [
        Source(
            name="anomaly_mini",
            url="https://raw.githubusercontent.com/machinelistening/"
            "machinelistening.github.io/master/anomaly_mini.zip",
            filename="anomaly_mini.zip",
            known_hash="sha256:53fa0ab5613ca129f7c62b303fe27109418622f91e551f6c4e61253940f352e9",
            size_bytes=3_500_000,
            licence="CC BY-SA 4.0 (excerpt of MIMII)",
            kind="zip",
            folder="anomaly_mini",
            description="30 MIMII valve clips (6 dB), 44.1 kHz, 2.5 s, with metadata.csv",
            documentation="https://github.com/machinelistening/machinelistening.github.io "
            "(anomaly_mini.zip: flat folder, header-less metadata.csv)",
            sample_rate=44100,
            channels=1,
        ),
        Source(
            name="esc50",
            url=f"https://github.com/karolpiczak/ESC-50/archive/{ESC50_COMMIT}.zip",
            filename=f"ESC-50-{ESC50_COMMIT}.zip",
            known_hash=None,
            size_bytes=646_000_000,
            licence="CC BY-NC 3.0",
            kind="zip",
            folder="esc50",
            description="ESC-50: 2000 clips of 5 s, 44.1 kHz, 50 classes, 5 folds",
            documentation="https://github.com/karolpiczak/ESC-50 (README: repository content; "
            "Piczak, 2015)",
            sample_rate=44100,
            channels=1,
        ),
        Source(
            name="urbansound8k",
            url=_ZENODO.format(record=1203745, filename="UrbanSound8K.tar.gz"),
            filename="UrbanSound8K.tar.gz",
            known_hash="md5:9aa69802bbf37fb986f71ec1483a196e",
            size_bytes=6_000_000_000,
            licence="CC BY-NC 3.0",
            kind="tar.gz",
            folder="urbansound8k",
            description="UrbanSound8K: 8732 clips up to 4 s, 10 classes, 10 folds",
            documentation="https://urbansounddataset.weebly.com/urbansound8k.html "
            "(Salamon et al., 2014)",
            sample_rate=None,
            channels=None,
        ),
    ]


def sources() -> dict[str, Source]:
    """Return every known dataset source keyed by name, in a stable display order."""
    items = _fixed_sources()
    items += [_mimii(machine, snr) for machine in MIMII_MACHINES for snr in MIMII_SNRS]
    items += [_dcase(machine) for machine in DCASE2020_MACHINES]
    return {source.name: source for source in items}


def names() -> list[str]:
    """Return all dataset names accepted by the download command and ``load_real``."""
    return list(sources())


def get(name: str) -> Source:
    """Return the :class:`Source` called ``name`` (case-insensitive).

    Raises:
        KeyError: unknown name; the message lists the valid names.
    """
    by_lower = {key.lower(): source for key, source in sources().items()}
    try:
        return by_lower[name.strip().lower()]
    except KeyError:
        raise KeyError(
            f"Unknown dataset {name!r}. Valid names: {', '.join(names())}. "
            "Run `python -m data_scripts.download --list` to see sizes and licences."
        ) from None


def url_for(source: Source) -> str:
    """Return the URL to fetch ``source`` from: ``$COURSE_DOWNLOAD_MIRROR/<filename>`` if set."""
    mirror = os.environ.get(MIRROR_ENV_VAR, "").strip()
    return f"{mirror.rstrip('/')}/{source.filename}" if mirror else source.url


def human_size(n_bytes: int) -> str:
    """Return ``n_bytes`` as a short human-readable size such as ``"6.9 GB"``."""
    units = ("B", "kB", "MB", "GB")
    size, unit = float(n_bytes), 0
    while size >= 1000 and unit < len(units) - 1:
        size, unit = size / 1000, unit + 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.1f} {units[unit]}"

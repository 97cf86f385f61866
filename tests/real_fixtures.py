"""Test helpers: tiny archives in each real dataset's published layout, their install, a server.

Each stand-in copies the published layout exactly (top folder, folder and file names,
metadata files and columns, audio format) with few and, where the format allows it, very
short clips, so downloads, extraction and loaders run in about a second. Where the layout
comes from:

* anomaly_mini: the course's own archive: ``anomaly_mini/metadata.csv`` (no header) and 30
  flat WAVs of MIMII valve at 6 dB, 44.1 kHz mono 16-bit 2.5 s;
* MIMII (Zenodo 3384388): ``<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav``, 8-channel
  16 kHz 16-bit WAVE_FORMAT_EXTENSIBLE, numbering restarting at 00000000 in ``abnormal/``;
* DCASE 2020 Task 2 dev: ``<machine>/train/normal_id_XX_NNNNNNNN.wav`` and
  ``<machine>/test/{normal,anomaly}_id_XX_NNNNNNNN.wav``, 16 kHz mono 16-bit;
* ESC-50: GitHub's archive of commit :data:`course_lib.data.registry.ESC50_COMMIT`
  (``ESC-50-<commit>/meta/esc50.csv``, ``audio/{fold}-{src_file}-{take}-{target}.wav``,
  44.1 kHz mono 16-bit 5 s);
* UrbanSound8K: ``UrbanSound8K/metadata/UrbanSound8K.csv`` and ``audio/fold1..10/``, each
  file in the format of its Freesound upload (:data:`URBAN_FORMATS`).

:func:`make_dcase`, :func:`make_mimii`, :func:`make_anomaly_mini` and
:func:`make_urbansound8k` take a ``write`` function for tests that need longer clips with
real content (the chapter runs). The server listens on 127.0.0.1 only; tests never touch
the internet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import itertools
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from course_lib import audio, paths, synth
from course_lib.data import download, lockfile, registry

#: ``write(path, label, seed) -> path`` writes one clip of class or condition ``label``.
ClipWriter = Callable[[Path, str, int], Path]

MIMII_SR = 16000  # MIMII and DCASE 2020 Task 2 record at 16 kHz
MINI_SR, MINI_SECONDS = 44100, 2.5
ESC50_SECONDS = 5.0


def write_clip(path: Path, *, sr: int = MIMII_SR, channels: int = 1, seconds: float = 0.02,
               seed: int = 0, subtype: str = "PCM_16", file_format: str = "WAV") -> Path:
    """Return ``path`` after writing a noise clip there (default: 20 ms, 16-bit WAV)."""
    rng = np.random.default_rng(seed)
    frames = max(1, int(sr * seconds))
    signal = 0.1 * rng.standard_normal((frames, channels))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, signal, sr, format=file_format, subtype=subtype)
    return path


# --------------------------------------------------------------------------- anomaly_mini

#: (course file name, original MIMII file name, label) of the 30 anomaly_mini clips: the
#: normal clips count up from 00000000.wav; MIMII numbers its abnormal/ folder from
#: 00000000.wav again, so the anomalies repeat the first original names.
MINI_ROWS: tuple[tuple[str, str, str], ...] = (
    *((f"train_{i}.wav", f"{i:08d}.wav", "normal") for i in range(20)),
    *((f"test_normal_{i}.wav", f"{20 + i:08d}.wav", "normal") for i in range(5)),
    *((f"test_anomaly_{i}.wav", f"{i:08d}.wav", "anomaly") for i in range(5)),
)


def mini_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing an anomaly_mini-format clip (``label`` is ignored).

    2.5 s, 44.1 kHz, mono, 16-bit PCM: 110 250 frames + a 44-byte header = 220 544 bytes.
    The noise is drawn at 16 kHz and resampled to 44.1 kHz, so like the MIMII originals it
    holds nothing above 8 kHz.
    """
    rng = np.random.default_rng(seed)
    noise = 0.1 * rng.standard_normal(int(MIMII_SR * MINI_SECONDS))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.resample(noise, orig_sr=MIMII_SR, target_sr=MINI_SR), MINI_SR,
             format="WAV", subtype="PCM_16")
    return path


def make_anomaly_mini(stage: Path, *, write: ClipWriter = mini_clip) -> Path:
    """Return the staging folder of the anomaly_mini archive: ``anomaly_mini/`` only, flat.

    It holds ``metadata.csv`` without a header, one ``<course name>,<MIMII name>`` line per
    clip in the order of :data:`MINI_ROWS`, and the 30 WAVs next to it. ``write`` writes each
    clip with label ``normal`` or ``anomaly`` (default :func:`mini_clip`).
    """
    top = stage / "anomaly_mini"
    for seed, (name, _, label) in enumerate(MINI_ROWS):
        write(top / name, label, seed)
    (top / "metadata.csv").write_text("".join(f"{name},{original}\n"
                                              for name, original, _ in MINI_ROWS))
    return stage


# --------------------------------------------------------------------------- MIMII, DCASE


def mimii_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing a 20 ms MIMII-format clip (``label`` is ignored).

    8 channels, 16 kHz, 16-bit PCM in a WAVE_FORMAT_EXTENSIBLE file, as MIMII publishes.
    """
    return write_clip(path, channels=8, seed=seed, file_format="WAVEX")


def make_mimii(stage: Path, machine: str = "valve", *,
               ids: tuple[tuple[str, int, int], ...] = (("id_00", 6, 2), ("id_02", 5, 3)),
               write: ClipWriter = mimii_clip) -> Path:
    """Return the staging folder of a MIMII archive: ``<machine>/id_XX/{normal,abnormal}``.

    ``ids`` gives (machine_id, normal clips, abnormal clips); by default id_00 has 6 normal +
    2 abnormal clips, id_02 has 5 normal + 3 abnormal. Both folders are numbered from
    ``00000000.wav``, as in MIMII. ``write`` writes each clip with label ``normal`` or
    ``abnormal`` (default :func:`mimii_clip`); every clip gets its own seed.
    """
    seeds = itertools.count()
    for machine_id, n_normal, n_abnormal in ids:
        for condition, count in (("normal", n_normal), ("abnormal", n_abnormal)):
            for i in range(count):
                write(stage / machine / machine_id / condition / f"{i:08d}.wav", condition,
                      next(seeds))
    return stage


def dcase_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing a 20 ms 16 kHz mono 16-bit clip (``label`` is ignored)."""
    return write_clip(path, seed=seed)


def make_dcase(stage: Path, machine: str = "ToyCar", *,
               ids: tuple[tuple[str, int, int, int], ...] = (("id_01", 4, 3, 2),
                                                             ("id_03", 3, 2, 1)),
               write: ClipWriter = dcase_clip) -> Path:
    """Return the staging folder of a DCASE 2020 Task 2 dev archive: ``<machine>/{train,test}``.

    ``ids`` gives (machine_id, train normals, test normals, test anomalies); as in the
    published data, the test folder holds normal clips and anomalies in unequal numbers
    (ToyCar id_01: 350 and 264). By default id_01 has 4 train, 3 + 2 test clips and id_03
    3 train, 2 + 1 test clips. Each (folder, label, ID) is numbered from 00000000. ``write``
    writes each clip with label ``normal`` or ``anomaly`` (default :func:`dcase_clip`);
    every clip gets its own seed, so no two clips are copies of each other.
    """
    names = [("train", f"normal_{machine_id}_{i:08d}.wav", "normal")
             for machine_id, n_train, _, _ in ids for i in range(n_train)]
    names += [("test", f"{label}_{machine_id}_{i:08d}.wav", label)
              for machine_id, _, n_normal, n_anomaly in ids
              for label, count in (("normal", n_normal), ("anomaly", n_anomaly))
              for i in range(count)]
    for seed, (split, name, label) in enumerate(names):
        write(stage / machine / split / name, label, seed)
    return stage


# --------------------------------------------------------------------------- ESC-50

ESC50_COLUMNS = "filename,fold,target,category,esc10,src_file,take"
ESC50_ROWS = [  # filename, fold, target, category, esc10, src_file, take
    ("1-100032-A-0.wav", 1, 0, "dog", True, 100032, "A"),
    ("1-100038-A-14.wav", 1, 14, "chirping_birds", False, 100038, "A"),
    ("2-100648-A-43.wav", 2, 43, "car_horn", False, 100648, "A"),
    ("3-100018-A-0.wav", 3, 0, "dog", True, 100018, "A"),
    ("4-102844-A-49.wav", 4, 49, "hand_saw", False, 102844, "A"),
    ("5-103415-A-2.wav", 5, 2, "pig", False, 103415, "A"),
    ("5-103415-B-2.wav", 5, 2, "pig", False, 103415, "B"),
    ("5-9032-A-0.wav", 5, 0, "dog", True, 9032, "A"),
]


def esc50_top() -> str:
    """Return the top folder of GitHub's archive of the pinned ESC-50 commit."""
    return f"ESC-50-{registry.ESC50_COMMIT}"


def make_esc50(stage: Path) -> Path:
    """Return the staging folder of the ESC-50 archive: ``ESC-50-<commit>/{meta,audio}``.

    ``meta/esc50.csv`` lists :data:`ESC50_ROWS`; each clip is 5 s of 44.1 kHz mono 16-bit
    noise. The repository's README.md and LICENSE lie next to the two folders.
    """
    top = stage / esc50_top()
    lines = [ESC50_COLUMNS]
    for seed, row in enumerate(ESC50_ROWS):
        write_clip(top / "audio" / row[0], sr=44100, seconds=ESC50_SECONDS, seed=seed)
        lines.append(",".join(str(value) for value in row))
    (top / "meta").mkdir(parents=True, exist_ok=True)
    (top / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    (top / "README.md").write_text("# ESC-50 stand-in\n")
    (top / "LICENSE").write_text("CC BY-NC 3.0 stand-in\n")
    return stage


# --------------------------------------------------------------------------- UrbanSound8K

URBAN_COLUMNS = "slice_file_name,fsID,start,end,salience,fold,classID,class"
#: Metadata rows in the order of :data:`URBAN_COLUMNS`, covering folds 1-10. The first two
#: rows are the first two of the real UrbanSound8K.csv. fsID 77751 is one of the five
#: recordings whose slices lie in two folds; its class, times and folds here are made up.
URBAN_ROWS = [
    ("100032-3-0-0.wav", 100032, 0.0, 0.317551, 1, 5, 3, "dog_bark"),
    ("100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 5, 2, "children_playing"),
    ("100648-1-0-0.wav", 100648, 4.5, 5.3, 1, 10, 1, "car_horn"),
    ("100648-1-1-0.wav", 100648, 8.3, 9.2, 1, 10, 1, "car_horn"),
    ("101415-3-0-2.wav", 101415, 1.0, 5.0, 1, 1, 3, "dog_bark"),
    ("102857-5-0-0.wav", 102857, 0.0, 4.0, 1, 2, 5, "engine_idling"),
    ("103074-7-0-0.wav", 103074, 0.0, 4.0, 1, 3, 7, "jackhammer"),
    ("104998-4-0-1.wav", 104998, 2.0, 6.0, 1, 4, 4, "drilling"),
    ("105029-8-0-0.wav", 105029, 0.0, 4.0, 2, 6, 8, "siren"),
    ("106486-9-0-3.wav", 106486, 1.5, 5.5, 1, 7, 9, "street_music"),
    ("77751-0-0-0.wav", 77751, 0.0, 4.0, 1, 8, 0, "air_conditioner"),
    ("77751-0-0-5.wav", 77751, 2.5, 6.5, 1, 9, 0, "air_conditioner"),
]
#: (sample rate, channels, subtype, container) of Freesound uploads as UrbanSound8K keeps
#: them; the default writer gives row ``i`` of the metadata format ``i % len(URBAN_FORMATS)``.
URBAN_FORMATS = (
    (44100, 2, "PCM_16", "WAV"),
    (48000, 1, "PCM_24", "WAV"),
    (96000, 2, "PCM_24", "WAV"),
    (44100, 1, "FLOAT", "WAV"),
    (48000, 2, "PCM_16", "WAVEX"),
    (11025, 1, "PCM_16", "WAV"),
    (8000, 1, "PCM_16", "WAV"),
)


def urban_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing 20 ms of noise in format ``seed`` of :data:`URBAN_FORMATS`.

    ``label`` is ignored; :func:`make_urbansound8k` passes the row number as the seed.
    """
    sr, channels, subtype, container = URBAN_FORMATS[seed % len(URBAN_FORMATS)]
    return write_clip(path, sr=sr, channels=channels, seed=seed, subtype=subtype,
                      file_format=container)


def make_urbansound8k(stage: Path, *, rows: list[tuple] = URBAN_ROWS,
                      write: ClipWriter = urban_clip) -> Path:
    """Return the staging folder of the UrbanSound8K tarball: ``UrbanSound8K/{metadata,audio}``.

    ``rows`` are metadata rows in the order of the CSV columns (see :data:`URBAN_ROWS`); each
    clip goes to ``audio/fold<fold>/`` and is written by ``write`` with its class as label and
    its row number as seed (default :func:`urban_clip`). The two text files of the tarball lie
    next to the folders.
    """
    top = stage / "UrbanSound8K"
    lines = [URBAN_COLUMNS]
    for seed, row in enumerate(rows):
        write(top / "audio" / f"fold{row[5]}" / row[0], row[7], seed)
        lines.append(",".join(str(value) for value in row))
    (top / "metadata").mkdir(parents=True, exist_ok=True)
    (top / "metadata" / "UrbanSound8K.csv").write_text("\n".join(lines) + "\n")
    (top / "UrbanSound8K_README.txt").write_text("UrbanSound8K stand-in\n")
    (top / "FREESOUNDCREDITS.txt").write_text("Freesound credits stand-in\n")
    return stage


# --------------------------------------------------------------------------- install, archives

def install(monkeypatch: pytest.MonkeyPatch, name: str, stage: Path, archive: Path, *,
            other_processes: bool = False) -> None:
    """Install the archive of ``stage`` as dataset ``name`` via --from-file (pin replaced).

    The registry's pinned checksum is swapped for the archive's own for this test only. With
    ``other_processes`` the completion marker is then stamped with the genuine pin, so that a
    process the monkeypatch does not reach (a notebook kernel) trusts the folder as well.
    """
    pack = tar_folder if archive.name.endswith(".tar.gz") else zip_folder
    pack(stage, archive)
    source = registry.get(name)
    if source.known_hash:
        digest = hashlib.md5(archive.read_bytes()).hexdigest()
        original = registry.sources

        def patched() -> dict[str, registry.Source]:
            table = original()
            table[source.name] = dataclasses.replace(table[source.name], known_hash=f"md5:{digest}")
            return table

        monkeypatch.setattr(registry, "sources", patched)
    target = download.install(name, from_file=archive, progress=False, log=lambda _: None)
    if other_processes and source.known_hash:
        marker = lockfile.read_marker(target)
        assert marker is not None, f"{name} was not installed in {target}"
        lockfile.write_marker(target, {**marker, "known_hash": source.known_hash})
        assert lockfile.marker_problem(paths.data_root().absolute(), source) is None


def link_toy_machines(root: Path, toy: Path) -> bool:
    """Return True after linking the toy machines of ``toy`` into ``root/toy``, if complete.

    Chapters that also show a toy machine (chapter 04 loads ``toy_valve``) then read the toy
    machines generated before (``make toy``) instead of generating them again below the
    temporary data root, which takes about 15 s. Only the machine folder is linked, and only
    when it holds every machine type, so a chapter never writes through the link. Otherwise
    nothing is linked (False) and a chapter generates the toy machines below ``root``.
    """
    folder = toy / synth.MIMII_DIR
    marker = synth.read_marker(folder) if synth.is_complete(folder) else None
    if marker is None or not set(synth.MACHINES) <= set(marker["parameters"]["machines"]):
        return False
    (root / "toy").mkdir(parents=True, exist_ok=True)
    (root / "toy" / synth.MIMII_DIR).symlink_to(folder.absolute(), target_is_directory=True)
    return True


def zip_folder(stage: Path, archive: Path) -> Path:
    """Return ``archive`` after zipping every file below ``stage`` (names relative to it)."""
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(stage).as_posix())
    return archive


def tar_folder(stage: Path, archive: Path) -> Path:
    """Return ``archive`` after writing every entry below ``stage`` into a ``.tar.gz``."""
    with tarfile.open(archive, "w:gz") as handle:
        for path in sorted(stage.iterdir()):
            handle.add(path, arcname=path.name)
    return archive


def zip_with_member(archive: Path, name: str, data: bytes = b"x", *,
                    symlink_to: str | None = None) -> Path:
    """Return a zip holding one member ``name`` (a symbolic link if ``symlink_to`` is given)."""
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("dataset/ok.txt", b"fine")
        info = zipfile.ZipInfo(name)
        if symlink_to is not None:
            info.external_attr = (0o120777 << 16)
            data = symlink_to.encode()
        handle.writestr(info, data)
    return archive


def tar_with_member(archive: Path, name: str, *, link_to: str | None = None,
                    hard: bool = False) -> Path:
    """Return a ``.tar.gz`` with a member ``name``: a file, or a (hard) link to ``link_to``."""
    with tarfile.open(archive, "w:gz") as handle:
        ok = tarfile.TarInfo("dataset/ok.txt")
        ok.size = 4
        handle.addfile(ok, io.BytesIO(b"fine"))
        info = tarfile.TarInfo(name)
        if link_to is None:
            info.size = 1
            handle.addfile(info, io.BytesIO(b"x"))
        else:
            info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
            info.linkname = link_to
            handle.addfile(info)
    return archive


class ArchiveServer:
    """A threaded HTTP server on 127.0.0.1 that serves files from a dict, with faults.

    ``files`` maps a URL path (``"/anomaly_mini.zip"``) to bytes. ``faults`` maps a path to
    ``"cut"`` (announce the full length, send half, close), ``"cut_once"`` (cut only the first
    request) or an HTTP status code such as 404 or 500. ``hits`` counts requests per path.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, str | int] = {}
        self.hits: Counter[str] = Counter()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL of the server (no trailing slash)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        """Return the request handler class bound to this server's files and faults."""
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                server.hits[self.path] += 1
                fault = server.faults.get(self.path)
                body = server.files.get(self.path)
                if isinstance(fault, int) or body is None:
                    self.send_error(fault if isinstance(fault, int) else 404)
                    return
                cut = fault == "cut" or (fault == "cut_once" and server.hits[self.path] == 1)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                """Stay quiet during tests."""

        return Handler

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

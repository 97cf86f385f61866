"""Tests of the toy sound simulator (course_lib.synth, chapter 03)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import signal, stats

from course_lib import synth
from course_lib.synth import fan, machines, pump, staging, valve, writer

SR = 16000
TINY_MACHINES = {"machines": ["fan", "valve"], "n_normal": 3, "n_abnormal": 3, "duration": 0.5,
                 "n_jobs": 1}
TINY_URBAN = {"clips_per_class": 3, "n_folds": 2, "n_jobs": 1}


# --- statistics that show the physics of each fault ----------------------------------------

def _band(y: np.ndarray, low: float, high: float) -> np.ndarray:
    """Return ``y`` band-pass filtered to [low, high] Hz."""
    sos = signal.butter(4, [low, high], btype="bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos, y)


def _band_fraction(y: np.ndarray, low: float, high: float) -> float:
    """Return the fraction of the signal's power between ``low`` and ``high`` Hz."""
    freqs, power = signal.welch(y, fs=SR, nperseg=4096)
    return power[(freqs >= low) & (freqs < high)].sum() / power.sum()


def _frame_rms(y: np.ndarray, hop: int) -> np.ndarray:
    """Return the RMS of consecutive ``hop``-sample frames."""
    n = y.size // hop
    return np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1))


def _envelope_line(y: np.ndarray, low: float, high: float, freq: float) -> float:
    """Return the share of the band envelope's modulation power within 5 % of ``freq``."""
    envelope = _frame_rms(_band(y, low, high), 16)
    power = np.abs(np.fft.rfft(envelope - envelope.mean())) ** 2
    freqs = np.fft.rfftfreq(envelope.size, d=16 / SR)
    return power[np.abs(freqs - freq) < 0.05 * freq].sum() / power[1:].sum()


def _harmonic_ratio(y: np.ndarray, f0: float) -> float:
    """Return the summed 3rd-6th harmonic peaks of ``f0`` over its fundamental peak."""
    spectrum, freqs = np.abs(np.fft.rfft(y)), np.fft.rfftfreq(y.size, 1 / SR)
    peaks = [spectrum[np.abs(freqs - k * f0) < 0.03 * k * f0].max() for k in range(1, 7)]
    return sum(peaks[2:]) / peaks[0]


def _click_times(y: np.ndarray) -> np.ndarray:
    """Return the times (s) of clicks: peaks of the 1.5-7 kHz envelope (2.5 ms frames)."""
    envelope = _frame_rms(_band(y, 1500, 7000), 40)
    peaks, _ = signal.find_peaks(envelope, height=0.15 * envelope.max(), distance=3)
    return peaks * 40 / SR


def _periodicity(y: np.ndarray, period: float) -> float:
    """Return the click envelope's autocorrelation peak near the valve's nominal period."""
    envelope = _frame_rms(_band(y, 1500, 7000), 80)
    envelope -= envelope.mean()
    corr = np.correlate(envelope, envelope, "full")[envelope.size - 1:]
    lag = period * SR / 80
    return corr[int(0.7 * lag): int(1.3 * lag) + 1].max() / corr[0]


def _quiet_level(y: np.ndarray) -> float:
    """Return the level (dB) of the quietest 20 % of 10 ms frames relative to the loudest."""
    level = 20 * np.log10(_frame_rms(y, 160) + 1e-12)
    return np.percentile(level, 20) - np.percentile(level, 99)


# (machine, fault) -> (statistic(y, machine_id), how it must change from severity 0 to 1)
FAULT_STATISTICS = {
    ("fan", "imbalance"): (lambda y, i: _band_fraction(y, 5, 60), "up"),  # 1x/2x shaking
    ("fan", "bearing"): (lambda y, i: stats.kurtosis(_band(y, 2000, 6000)), "up"),  # impacts
    ("fan", "blade_damage"): (  # once-per-revolution pattern of the blade-pass noise
        lambda y, i: _envelope_line(y, 300, 3000, fan.IDS[i].rotation_hz), "up"),
    ("pump", "cavitation"): (lambda y, i: _band_fraction(y, 2500, 7500), "up"),  # crackle
    ("pump", "impeller_wear"): (  # vane-pass harmonics grow relative to the fundamental
        lambda y, i: _harmonic_ratio(y, pump.IDS[i].vanes * pump.IDS[i].shaft_hz), "up"),
    ("pump", "air_leak"): (lambda y, i: _band_fraction(y, 3000, 7000), "up"),  # hiss
    ("slider", "rail_damage"): (lambda y, i: stats.kurtosis(_band(y, 2500, 6000)), "up"),
    ("slider", "no_lubrication"): (lambda y, i: _band_fraction(y, 1500, 6000), "up"),
    ("slider", "belt_slip"): (  # jerky speed: the rolling-noise envelope fluctuates
        lambda y, i: np.mean(np.abs(np.diff(e := _frame_rms(_band(y, 300, 3000), 160))))
        / np.mean(e), "up"),
    ("valve", "timing_jitter"): (lambda y, i: _periodicity(y, valve.IDS[i].period_s), "down"),
    ("valve", "bounce"): (lambda y, i: len(_click_times(y)), "up"),  # extra clicks
    ("valve", "leakage"): (lambda y, i: _quiet_level(y), "up"),  # hiss fills the gaps
}


def test_every_fault_has_a_statistic_and_physics_docstring() -> None:
    assert set(FAULT_STATISTICS) == {(m, f) for m, faults in synth.MACHINES.items()
                                     for f in faults}
    for machine, faults in synth.MACHINES.items():
        assert len(faults) >= 3
        assert synth.MACHINE_IDS[machine] == ("id_00", "id_02", "id_04")
        for fault in faults:
            assert len(synth.fault_description(machine, fault)) > 80


def test_fault_descriptions_are_plain_text_without_rst_markup() -> None:
    for machine, faults in synth.MACHINES.items():
        for fault in faults:
            text = synth.fault_description(machine, fault)
            assert "`" not in text and ":func:" not in text, (machine, fault, text)
            assert text == " ".join(text.split()), (machine, fault)  # one clean paragraph
    bearing = synth.fault_description("fan", "bearing")  # its docstring has a ``literal``
    assert "frequency BPFO = balls / 2 * (1 - d/D) * rotation." in bearing


@pytest.mark.parametrize(("rst", "plain"), [
    ("at ``BPFO = balls / 2 * (1 - d/D)`` Hz", "at BPFO = balls / 2 * (1 - d/D) Hz"),
    ("``a`` and ``b``", "a and b"),
    ("see :func:`fault_description` and :class:`pandas.DataFrame`",
     "see fault_description and pandas.DataFrame"),
    ("see :func:`~course_lib.synth.fan.bearing`", "see bearing"),
    (":ref:`the toy chapter <ch03>`", "the toy chapter"),
    ("`interpreted` text, *emphasis* and 2 * 3 stay",
     "interpreted text, *emphasis* and 2 * 3 stay"),
    ("no markup at all", "no markup at all"),
])
def test_plain_text_strips_inline_rst(rst: str, plain: str) -> None:
    assert machines.plain_text(rst) == plain


@pytest.mark.parametrize(("machine", "fault"), sorted(FAULT_STATISTICS))
def test_severity_changes_a_physical_statistic(machine: str, fault: str) -> None:
    statistic, direction = FAULT_STATISTICS[(machine, fault)]
    for machine_id in synth.MACHINE_IDS[machine]:
        clips = [synth.machine_sound(machine, machine_id=machine_id, fault=fault, severity=s,
                                     snr_db=None, seed=0).astype(np.float64) for s in (0.0, 1.0)]
        normal, faulty = (statistic(y, machine_id) for y in clips)
        if direction == "up":
            assert faulty > 1.2 * normal + 1e-3, (machine_id, normal, faulty)
        else:
            assert faulty < normal - 0.1, (machine_id, normal, faulty)


@pytest.mark.parametrize("machine", sorted(synth.MACHINES))
def test_severity_zero_sounds_exactly_normal(machine: str) -> None:
    normal = synth.machine_sound(machine, duration=1.0, seed=5)
    for fault in synth.MACHINES[machine]:
        same = synth.machine_sound(machine, fault=fault, severity=0.0, duration=1.0, seed=5)
        assert np.array_equal(normal, same), fault


@pytest.mark.parametrize("machine", sorted(synth.MACHINES))
def test_machine_sound_is_deterministic_float32_and_within_full_scale(machine: str) -> None:
    first = synth.machine_sound(machine, machine_id="id_02", fault=synth.MACHINES[machine][0],
                                severity=1.0, snr_db=-6.0, duration=1.0, seed=3)
    again = synth.machine_sound(machine, machine_id="id_02", fault=synth.MACHINES[machine][0],
                                severity=1.0, snr_db=-6.0, duration=1.0, seed=3)
    other = synth.machine_sound(machine, machine_id="id_02", fault=synth.MACHINES[machine][0],
                                severity=1.0, snr_db=-6.0, duration=1.0, seed=4)
    assert first.dtype == np.float32 and first.shape == (SR,)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.all(np.isfinite(first)) and np.max(np.abs(first)) <= 1.0


def test_normal_clips_vary_from_clip_to_clip() -> None:
    levels = [10 * np.log10(np.mean(synth.machine_sound("fan", snr_db=None, seed=s) ** 2))
              for s in range(8)]
    assert np.ptp(levels) > 1.0  # speed, load and gain drift: a distribution, not a template


@pytest.mark.parametrize("snr_db", [-6.0, 0.0, 6.0, 20.0])
@pytest.mark.parametrize("machine", sorted(synth.MACHINES))
def test_snr_is_achieved(machine: str, snr_db: float) -> None:
    parts = synth.machine_parts(machine, fault=synth.MACHINES[machine][1], severity=0.7,
                                snr_db=snr_db, duration=1.0, seed=2)
    assert abs(synth.snr_db(parts.machine, parts.background) - snr_db) < 0.1
    mixture = synth.machine_sound(machine, fault=synth.MACHINES[machine][1], severity=0.7,
                                  snr_db=snr_db, duration=1.0, seed=2)
    assert np.array_equal(mixture, parts.machine + parts.background)


def test_clean_clip_has_no_background() -> None:
    parts = synth.machine_parts("pump", snr_db=None, duration=0.5)
    assert not np.any(parts.background) and np.any(parts.machine)


def test_noise_generators_are_deterministic_with_unit_rms() -> None:
    for make in (synth.factory_noise, synth.street_noise):
        first = make(duration=1.0, sr=22050, seed=1)
        assert np.array_equal(first, make(duration=1.0, sr=22050, seed=1))
        assert not np.array_equal(first, make(duration=1.0, sr=22050, seed=2))
        assert first.dtype == np.float32 and abs(np.sqrt(np.mean(first**2)) - 1) < 1e-3


def test_scale_to_snr_matches_definition() -> None:
    rng = np.random.default_rng(0)
    sound, noise = rng.standard_normal(1000), 3 * rng.standard_normal(1000)
    scaled = synth.scale_to_snr(sound, noise, snr_db=10.0)
    assert abs(10 * np.log10(np.mean(sound**2) / np.mean(scaled**2)) - 10.0) < 1e-9


@pytest.mark.parametrize("label", synth.URBAN_CLASSES)
def test_urban_sound_is_deterministic_and_valid(label: str) -> None:
    first = synth.urban_sound(label, duration=1.5, seed=7)
    assert first.dtype == np.float32 and first.shape == (round(1.5 * 22050),)
    assert np.array_equal(first, synth.urban_sound(label, duration=1.5, seed=7))
    assert not np.array_equal(first, synth.urban_sound(label, duration=1.5, seed=8))
    assert np.all(np.isfinite(first)) and 0 < np.max(np.abs(first)) <= 1.0


def test_urban_classes_follow_urbansound8k_order() -> None:
    assert synth.URBAN_CLASSES[0] == "air_conditioner" and synth.URBAN_CLASSES[9] == "street_music"
    assert len(set(synth.URBAN_CLASSES)) == 10


@pytest.mark.parametrize(("call", "valid"), [
    (lambda: synth.machine_sound("drill"), "fan, pump, slider, valve"),
    (lambda: synth.machine_sound("fan", machine_id="id_06"), "id_00, id_02, id_04"),
    (lambda: synth.machine_sound("fan", fault="cavitation"), "imbalance"),
    (lambda: synth.machine_sound("fan", fault="bearing", severity=1.5), "[0.0, 1.0]"),
    (lambda: synth.machine_sound("fan", fault="bearing", severity=-0.1), "[0.0, 1.0]"),
    (lambda: synth.machine_sound("fan", duration=0), "duration"),
    (lambda: synth.machine_sound("fan", duration=-1.0), "duration"),
    (lambda: synth.machine_sound("fan", sr=4000), "8000"),
    (lambda: synth.machine_sound("fan", snr_db=float("nan")), "snr_db"),
    (lambda: synth.urban_sound("dog"), "dog_bark"),
    (lambda: synth.urban_sound("siren", sr=7999), "8000"),
    (lambda: synth.factory_noise(duration=0.0, sr=16000, seed=0), "duration"),
    (lambda: synth.make_machine_dataset("/nonexistent", machines=["drill"]), "valve"),
    (lambda: synth.make_machine_dataset("/nonexistent", severity=(0.9, 0.1)), "low > high"),
    (lambda: synth.make_machine_dataset("/nonexistent", n_normal=0), ">= 1"),
    (lambda: synth.make_urban_dataset("/nonexistent", clips_per_class=-1), ">= 1"),
])
def test_bad_arguments_raise_value_error_naming_valid_choices(call, valid: str) -> None:
    with pytest.raises(ValueError, match=re.escape(valid)):
        call()


# --- dataset writers --------------------------------------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    """Return relative path -> content of every file below ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def tiny_machines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding a tiny machine dataset (fan and valve)."""
    return synth.make_machine_dataset(tmp_path_factory.mktemp("toy"), seed=0, **TINY_MACHINES)


def test_machine_dataset_layout_follows_mimii(tiny_machines: Path) -> None:
    wavs = sorted(str(p.relative_to(tiny_machines)) for p in tiny_machines.rglob("*.wav"))
    expected = sorted(f"{m}/{i}/{label}/{k:08d}.wav" for m in ("fan", "valve")
                      for i in ("id_00", "id_02", "id_04") for label in ("normal", "abnormal")
                      for k in range(3))
    assert wavs == expected
    info = sf.info(tiny_machines / "fan/id_00/normal/00000000.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 8000,
                                                                          "PCM_16")


def test_machine_metadata_describes_every_clip(tiny_machines: Path) -> None:
    meta = pd.read_csv(tiny_machines / "toy_metadata.csv", keep_default_na=False)
    assert list(meta.columns) == ["path", "machine", "machine_id", "label", "fault", "severity",
                                  "snr_db", "seed"]
    assert len(meta) == 36 and meta["path"].is_monotonic_increasing
    abnormal = meta[meta["label"] == "abnormal"]
    assert set(abnormal["fault"]) == set(synth.MACHINES["fan"]) | set(synth.MACHINES["valve"])
    assert abnormal["severity"].between(0.4, 1.0).all()
    assert (meta.loc[meta["label"] == "normal", "fault"] == "").all()
    row = abnormal.iloc[0]  # the metadata is enough to re-create a clip
    y = synth.machine_sound(row["machine"], machine_id=row["machine_id"], fault=row["fault"],
                            severity=row["severity"], snr_db=row["snr_db"], duration=0.5,
                            seed=int(row["seed"]))
    stored, _ = sf.read(tiny_machines / row["path"], dtype="float32")
    assert np.max(np.abs(stored - y)) < 1e-4


def test_machine_dataset_is_bit_identical_for_the_same_seed(tiny_machines: Path,
                                                            tmp_path: Path) -> None:
    again = synth.make_machine_dataset(tmp_path / "again", seed=0, **TINY_MACHINES)
    other = synth.make_machine_dataset(tmp_path / "other", seed=1, **TINY_MACHINES)
    assert _files(again) == _files(tiny_machines)
    different = _files(other)
    assert different.keys() == _files(tiny_machines).keys()
    assert different["fan/id_00/normal/00000000.wav"] != _files(again)[
        "fan/id_00/normal/00000000.wav"]


def test_writer_is_idempotent_and_replaces_other_parameters(tmp_path: Path) -> None:
    folder = synth.make_machine_dataset(tmp_path, seed=0, **TINY_MACHINES)
    marker = folder / staging.MARKER_NAME
    stamp = marker.stat().st_mtime_ns
    synth.make_machine_dataset(tmp_path, seed=0, **TINY_MACHINES)
    assert marker.stat().st_mtime_ns == stamp  # up to date: nothing rewritten
    synth.make_machine_dataset(tmp_path, seed=0, **{**TINY_MACHINES, "n_normal": 4})
    assert synth.read_marker(folder)["parameters"]["n_normal"] == 4
    assert len(list(folder.rglob("*.wav"))) == 2 * 3 * 7
    assert [p.name for p in tmp_path.iterdir()] == ["mimii"]  # no staging folders left


def test_interrupted_generation_never_looks_complete(tmp_path: Path, monkeypatch) -> None:
    old = synth.make_machine_dataset(tmp_path, seed=0, **TINY_MACHINES)
    written = []

    def crash_after_five(folder: Path, row: dict, duration: float, sr: int) -> None:
        if len(written) == 5:
            raise KeyboardInterrupt
        written.append(row["path"])
        original(folder, row, duration, sr)

    original = writer._write_machine_clip
    monkeypatch.setattr(writer, "_write_machine_clip", crash_after_five)
    new_parameters = {**TINY_MACHINES, "n_normal": 5}
    with pytest.raises(KeyboardInterrupt):
        synth.make_machine_dataset(tmp_path, seed=0, **new_parameters)
    wanted = synth.machine_dataset_parameters(
        seed=0, **{k: v for k, v in new_parameters.items() if k != "n_jobs"})
    assert not synth.is_complete(old, wanted)
    assert synth.read_marker(old)["parameters"]["n_normal"] == 3  # the old data is intact
    assert [p.name for p in tmp_path.iterdir()] == ["mimii"]
    with pytest.raises(KeyboardInterrupt):
        synth.make_machine_dataset(tmp_path / "fresh", seed=0, **new_parameters)
    assert not (tmp_path / "fresh" / "mimii").exists()


def test_marker_of_an_older_generator_is_not_complete(tiny_machines: Path, monkeypatch) -> None:
    assert synth.is_complete(tiny_machines)
    monkeypatch.setattr(staging, "GENERATOR_VERSION", "0.0-old")
    assert not synth.is_complete(tiny_machines)


@pytest.fixture(scope="module")
def tiny_urban(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding a tiny UrbanSound8K-style dataset."""
    return synth.make_urban_dataset(tmp_path_factory.mktemp("toy"), seed=0, **TINY_URBAN)


def test_urban_dataset_layout_and_metadata_follow_urbansound8k(tiny_urban: Path) -> None:
    meta = pd.read_csv(tiny_urban / "metadata" / "UrbanSound8K.csv")
    assert list(meta.columns) == ["slice_file_name", "fsID", "start", "end", "salience",
                                  "fold", "classID", "class"]
    assert len(meta) == 10 * 3 and meta["slice_file_name"].is_monotonic_increasing
    assert (meta.groupby("class").size() == 3).all()
    assert set(meta["salience"]) <= {1, 2} and set(meta["fold"]) == {1, 2}
    for row in meta.itertuples():
        fs_id, class_id, occurrence, slice_id = row.slice_file_name[:-4].split("-")
        assert (int(fs_id), int(class_id)) == (row.fsID, row.classID) and occurrence == "0"
        assert synth.URBAN_CLASSES[row.classID] == row._8
        info = sf.info(tiny_urban / "audio" / f"fold{row.fold}" / row.slice_file_name)
        assert (info.samplerate, info.channels) == (22050, 1)
        assert 1.0 <= info.duration <= 4.0 and abs(info.duration - (row.end - row.start)) < 1e-3
    wavs = {p.name for p in (tiny_urban / "audio").rglob("*.wav")}
    assert wavs == set(meta["slice_file_name"])


def test_urban_sources_stay_in_one_fold_and_one_class(tiny_urban: Path) -> None:
    meta = pd.read_csv(tiny_urban / "metadata" / "UrbanSound8K.csv")
    per_source = meta.groupby("fsID").agg(folds=("fold", "nunique"), classes=("class", "nunique"),
                                          slices=("slice_file_name", "size"))
    assert (per_source["folds"] == 1).all() and (per_source["classes"] == 1).all()
    assert per_source["slices"].max() > 1  # several slices share a source recording
    meta = meta.sort_values(["fsID", "start"])
    for _, source in meta.groupby("fsID"):  # slices of a recording follow one another
        assert np.allclose(source["start"].to_numpy()[1:], source["end"].to_numpy()[:-1])


def test_urban_slices_of_one_source_share_its_parameters(tiny_urban: Path) -> None:
    meta = pd.read_csv(tiny_urban / "metadata" / "UrbanSound8K.csv")
    extras = pd.read_csv(tiny_urban / "metadata" / "toy_metadata.csv")
    merged = meta.merge(extras, on="slice_file_name", validate="one_to_one")
    seeds = merged.groupby("fsID").agg(seeds=("seed", "nunique"), seed=("seed", "first"),
                                       snrs=("snr_db", "nunique"))
    assert (seeds["seeds"] == 1).all() and (seeds["snrs"] == 1).all()
    assert seeds["seed"].is_unique  # and every source recording has its own


def test_urban_dataset_is_bit_identical_for_the_same_seed(tiny_urban: Path,
                                                          tmp_path: Path) -> None:
    again = synth.make_urban_dataset(tmp_path, seed=0, **TINY_URBAN)
    assert _files(again) == _files(tiny_urban)

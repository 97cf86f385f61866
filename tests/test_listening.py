"""Tests for course_lib.listening: which test clips to play, and playing them."""

from __future__ import annotations

import base64
import dataclasses
import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from IPython.display import HTML
from matplotlib.figure import Figure

from course_lib import features, listening, separation

SR = 16000


def test_telling_clips_pick_medians_and_the_two_worst_errors():
    labels = [0, 0, 0, 1, 1, 1, 0]
    scores = [0.1, 0.5, 0.3, 0.9, 0.2, 0.6, 0.8]
    picks = listening.telling_clips(labels, scores)
    assert list(picks) == list(listening.KINDS)
    assert picks == {
        "typical normal": 2,  # normal scores 0.1 0.3 0.5 0.8: lower median 0.3
        "typical anomaly": 5,  # anomaly scores 0.2 0.6 0.9: median 0.6
        "worst false alarm": 6,  # the normal clip scored 0.8
        "missed anomaly": 4,  # the anomaly scored 0.2
    }


def test_ties_go_to_the_earlier_clip():
    picks = listening.telling_clips([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])
    assert picks["missed anomaly"] == 0 and picks["worst false alarm"] == 2


def test_telling_clips_need_both_classes():
    with pytest.raises(ValueError, match="both normal"):
        listening.telling_clips([0, 0], [0.1, 0.2])


def _clips(tmp_path, n=4):
    rows = []
    rng = np.random.default_rng(0)
    for index in range(n):
        path = tmp_path / f"clip_{index}.wav"
        sf.write(path, 0.1 * rng.standard_normal(SR), SR)
        rows.append({"path": str(path), "label": "normal" if index % 2 else "anomaly"})
    return pd.DataFrame(rows)


def test_listen_plays_and_pictures_every_pick(tmp_path):
    table = _clips(tmp_path)
    config = features.FeatureConfig.for_rate(SR, kind="mfcc")
    players, fig = listening.listen(
        table, {"first": 0, "last": 3}, [1.0, 2.0, 3.0, 4.0], config=config
    )
    markup = players.data
    assert markup.count("<audio") == 2
    assert "first: anomaly, score 1" in markup and "last: normal, score 4" in markup
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["first\nanomaly, score 1", "last\nnormal, score 4"]
    image = fig.axes[0].collections[0].get_array()
    assert image.shape[0] == features.FeatureConfig.for_rate(SR).n_mels  # log-mel, not MFCC


def test_listen_refuses_scores_of_another_table(tmp_path):
    table = _clips(tmp_path)
    config = features.FeatureConfig.for_rate(SR)
    with pytest.raises(ValueError, match="scores has 3 values but table has 4"):
        listening.listen(table, {"a": 0}, [1.0, 2.0, 3.0], config=config)
    with pytest.raises(ValueError, match="picks is empty"):
        listening.listen(table, {}, [1.0] * 4, config=config)


# --------------------------------------------------------------------------- parts (chapter 06)


def _tone_and_clicks(seed: int) -> np.ndarray:
    """Return 1 s at 16 kHz: a steady 440 Hz tone and four 2-ms noise clicks (float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    y = 0.3 * np.sin(2 * np.pi * 440 * t)
    for start in (0.1, 0.35, 0.6, 0.85):
        first = round(start * SR)
        y[first:first + 32] += 0.5 * rng.uniform(-1, 1, 32)
    return y.astype(np.float32)


def _parts_case():
    """Return ``(clips, separator, config)``: two short clips, HPSS and 32 mel bands."""
    clips = {"normal": _tone_and_clicks(0), "faulty": _tone_and_clicks(1)}
    config = features.FeatureConfig.for_rate(SR, n_mels=32)
    return clips, separation.method("hpss"), config


def test_parts_play_the_clip_its_foreground_and_its_background():
    clips, separator, config = _parts_case()
    players, fig = listening.parts(clips, separator, config=config)
    assert isinstance(players, HTML) and isinstance(fig, Figure)
    markup = players.data
    assert markup.count("<audio") == 6
    captions = [f"{name}: {part}" for name in clips
                for part in ("clip", "foreground", "background")]
    found = [markup.index(f"<figcaption>{caption}</figcaption>") for caption in captions]
    assert found == sorted(found)  # in the order clip, foreground, background per clip
    plt.close(fig)


def _played(markup: str) -> dict[str, np.ndarray]:
    """Return ``{caption: samples}`` of every captioned player in ``markup``."""
    found = re.findall(r'<figcaption>(.*?)</figcaption><audio[^>]*src="data:audio/wav;base64,'
                       r'([^"]+)"', markup)
    return {caption: sf.read(io.BytesIO(base64.b64decode(data)))[0] for caption, data in found}


def test_parts_players_play_their_own_part_cut_to_max_seconds():
    clips, separator, config = _parts_case()
    players, fig = listening.parts({"normal": clips["normal"]}, separator, config=config,
                                   max_seconds=0.5)
    played = _played(players.data)
    separated = separator.separate(clips["normal"], SR)
    expected = {"clip": clips["normal"], "foreground": separated.foreground,
                "background": separated.background}
    assert list(played) == [f"normal: {part}" for part in expected]
    for part, signal in expected.items():
        samples = played[f"normal: {part}"]
        assert len(samples) == SR // 2
        assert np.corrcoef(samples, signal[: SR // 2])[0, 1] > 0.99
    plt.close(fig)


def test_parts_picture_three_panels_per_clip_in_three_columns():
    clips, separator, config = _parts_case()
    _, fig = listening.parts(clips, separator, config=config)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [
        "normal\nclip", "normal\nforeground", "normal\nbackground",
        "faulty\nclip", "faulty\nforeground", "faulty\nbackground",
    ]
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in panels} == {(2, 3)}
    assert separator.name in fig.get_suptitle()
    plt.close(fig)


def test_parts_panels_are_the_log_mels_of_the_parts():
    clips, separator, config = _parts_case()
    _, fig = listening.parts({"normal": clips["normal"]}, separator,
                             config=dataclasses.replace(config, kind="mfcc"))
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert len(panels) == 3
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in panels.values()} == {(1, 3)}
    separated = separator.separate(clips["normal"], SR)
    logmel = dataclasses.replace(config, kind="logmel")  # log-mel, also for an MFCC config
    for part, signal in (("clip", clips["normal"]), ("foreground", separated.foreground),
                         ("background", separated.background)):
        image = np.asarray(panels[f"normal\n{part}"].collections[0].get_array())
        assert image.shape[0] == 32
        np.testing.assert_allclose(image, features.compute(signal, logmel), rtol=1e-5,
                                   atol=1e-4)
    clip = np.asarray(panels["normal\nclip"].collections[0].get_array())
    foreground = np.asarray(panels["normal\nforeground"].collections[0].get_array())
    assert foreground.mean() < clip.mean() - 3  # the clicks are a small part of the sound
    plt.close(fig)


def test_parts_refuse_no_clips():
    _, separator, config = _parts_case()
    with pytest.raises(ValueError, match="clips is empty"):
        listening.parts({}, separator, config=config)

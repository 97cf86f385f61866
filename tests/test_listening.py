"""Tests for course_lib.listening: which test clips to play, and playing them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_lib import features, listening

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

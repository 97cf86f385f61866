"""Listen to a detector's decisions: its telling test clips, played and pictured (chapter 04).

An AUC says how well a detector ranks the test clips; it does not say *what* the detector
hears. Four clips say more: a typical normal clip and a typical anomaly (the median score
of each class), the worst false alarm (the normal clip scored highest) and the missed
anomaly (the anomaly scored lowest). Chapters 04 and 05 play them next to each other with
their log-mel spectrograms on one colour scale.

Chapter 06 also listens to what a source separation method makes of a clip
(:func:`parts`): the clip, its foreground and its background, played and pictured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure

from course_lib import audio, clip_table, evaluate, features, plots, separation

#: The telling clips, in the order they are shown.
KINDS = ("typical normal", "typical anomaly", "worst false alarm", "missed anomaly")


def _median_position(positions: np.ndarray, scores: np.ndarray) -> int:
    """Return the position (from ``positions``) whose score is the lower median of them."""
    order = positions[np.argsort(scores[positions], kind="stable")]
    return int(order[(order.size - 1) // 2])


def telling_clips(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> dict[str, int]:
    """Return ``{kind: position}`` of the four telling test clips of ``scores`` (chapter 04).

    Positions index ``y_true``/``scores`` (and the test table they came from). The kinds are
    :data:`KINDS`: the median-scored normal clip and anomaly, the highest-scored normal clip
    and the lowest-scored anomaly. Ties go to the earlier clip, so the choice is repeatable.
    """
    labels, values = evaluate.labels_and_scores(y_true, scores)
    normal, anomalous = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    return {
        "typical normal": _median_position(normal, values),
        "typical anomaly": _median_position(anomalous, values),
        "worst false alarm": int(normal[np.argmax(values[normal])]),
        "missed anomaly": int(anomalous[np.argmin(values[anomalous])]),
    }


def _title(kind: str, row: pd.Series, score: float) -> str:
    """Return a player/panel title: the kind, the clip's label and its score."""
    return f"{kind}: {row['label']}, score {score:.3g}"


def listen(
    table: pd.DataFrame,
    picks: Mapping[str, int],
    scores: Sequence[float] | np.ndarray,
    *,
    config: features.FeatureConfig,
    max_seconds: float = 5.0,
) -> tuple[HTML, Figure]:
    """Return ``(players, fig)`` for the picked clips of ``table`` (chapter 04).

    Args:
        table: the test clips (a clip table with ``path`` and ``label``), in the order of
            ``scores``.
        picks: title -> position in ``table``, e.g. from :func:`telling_clips`.
        scores: the detector's score of every clip of ``table``.
        config: how the detector saw the clips: their sample rate, channel and frame
            settings; the players use the same clips and the spectrograms are log-mels
            with these settings (also when ``config`` computes MFCCs).

    ``players`` holds one captioned player per pick; ``fig`` their log-mel spectrograms in a
    row on one colour scale, each titled like its player.
    """
    clip_table.require_columns(table, ["path", "label"])
    values = np.asarray(scores, dtype=float)
    if len(values) != len(table):
        raise ValueError(
            f"scores has {len(values)} values but table has {len(table)} clips; pass the "
            "test table the scores were computed on."
        )
    if not picks:
        raise ValueError("picks is empty; pass e.g. listening.telling_clips(y_true, scores).")
    channel = None if config.channel == "mean" else int(config.channel)
    logmel = dataclasses.replace(config, kind="logmel")
    clips, specs = {}, {}
    for kind, position in picks.items():
        row = table.iloc[position]
        y, _ = audio.load(row["path"], sr=config.sr, channel=channel)
        title = _title(kind, row, values[position])
        clips[title] = y
        specs[title.replace(": ", "\n", 1)] = features.compute(y, logmel)
    players = audio.players(clips, config.sr, max_seconds=max_seconds)
    fig, _ = plots.spectrograms(
        specs, sr=config.sr, hop_length=config.hop_length, fmin=config.fmin,
        fmax=config.fmax,
    )
    return players, fig


def parts(
    clips: Mapping[str, np.ndarray],
    separator: separation.Separator,
    *,
    config: features.FeatureConfig,
    max_seconds: float = 5.0,
) -> tuple[HTML, Figure]:
    """Return ``(players, fig)``: each clip next to its foreground and background (ch. 06).

    ``clips`` maps a name (e.g. ``"normal"``) to a mono signal at ``config.sr``; each is
    separated by ``separator``. ``players`` holds three players per clip, captioned
    ``"<name>: clip"``, ``"<name>: foreground"`` and ``"<name>: background"``; ``fig`` their
    log-mel spectrograms with ``config``'s mel settings, titled ``"<name>\\n<part>"``, one row
    per clip, on one colour scale, so a part that holds little of the sound looks dark.
    """
    if not clips:
        raise ValueError("clips is empty; pass e.g. {'normal': y, 'faulty': y_faulty}.")
    logmel = dataclasses.replace(config, kind="logmel")
    sounds, specs = {}, {}
    for name, y in clips.items():
        separated = separator.separate(y, config.sr)
        for part, signal in (("clip", y), *((p, separated.part(p)) for p in separation.PARTS)):
            sounds[f"{name}: {part}"] = signal
            specs[f"{name}\n{part}"] = features.compute(signal, logmel)
    players = audio.players(sounds, config.sr, max_seconds=max_seconds)
    fig, _ = plots.spectrograms(specs, sr=config.sr, hop_length=config.hop_length,
                                fmin=config.fmin, fmax=config.fmax, ncols=3,
                                title=f"{separator.name}: clip, foreground, background")
    return players, fig

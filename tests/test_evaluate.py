"""Tests for course_lib.evaluate: metrics vs scikit-learn and hand values, thresholds, records."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from notebook_checks import REPO_ROOT
from scipy import stats
from sklearn import metrics
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from course_lib import evaluate

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
PERFECT = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])


@pytest.fixture
def results(tmp_path, monkeypatch):
    """Point $COURSE_RESULTS at an empty temporary folder and return it."""
    folder = tmp_path / "results"
    monkeypatch.setenv("COURSE_RESULTS", str(folder))
    return folder


def test_auc_perfect_reversed_and_chance():
    assert evaluate.auc(Y, PERFECT) == 1.0
    assert evaluate.auc(Y, -PERFECT) == 0.0
    assert evaluate.auc(Y, np.ones(8)) == 0.5
    assert isinstance(evaluate.auc(Y, PERFECT), float)


def test_auc_hand_computed_pairs():
    # anomalies 0.5, 0.9 vs normals 0.1, 0.6: pairs won 0.5>0.1, 0.9>0.1, 0.9>0.6 -> 3 of 4
    assert evaluate.auc([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]) == pytest.approx(0.75)


def test_pauc_is_mcclish_standardised():
    assert evaluate.pauc(Y, PERFECT) == 1.0
    # Reversed ranking: raw partial area 0; McClish: 0.5 * (1 + (0 - p^2/2) / (p - p^2/2)).
    p = 0.1
    expected = 0.5 * (1 + (0 - p**2 / 2) / (p - p**2 / 2))
    assert evaluate.pauc(Y, -PERFECT, max_fpr=p) == pytest.approx(expected)
    assert evaluate.pauc(Y, -PERFECT) == pytest.approx(0.4736842105)


def test_metrics_match_sklearn_on_random_scores():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    scores = rng.normal(size=200) + y
    assert evaluate.auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores))
    assert evaluate.pauc(y, scores, max_fpr=0.2) == pytest.approx(
        metrics.roc_auc_score(y, scores, max_fpr=0.2)
    )
    fpr, tpr, thresholds = evaluate.roc(y, scores)
    assert np.allclose(fpr, metrics.roc_curve(y, scores)[0])
    assert fpr[0] == 0 and tpr[-1] == 1 and np.all(np.diff(thresholds) <= 0)


@pytest.mark.parametrize(
    ("y_true", "scores", "message"),
    [
        ([0, 0, 0], [1, 2, 3], "both normal"),
        ([0, 1, 2], [1, 2, 3], "0 \\(normal\\) and 1"),
        (["normal", "anomaly"], [1, 2], "table\\['label'\\]"),
        ([0, 1, 1], [1, 2], "3 labels but scores has 2"),
        ([0, 1], [1, np.nan], "NaN"),
    ],
)
def test_bad_inputs_raise_clear_errors(y_true, scores, message):
    with pytest.raises(ValueError, match=message):
        evaluate.auc(y_true, scores)


def test_labels_and_scores_checks_and_converts():
    labels, values = evaluate.labels_and_scores([True, False], [1, 2])
    assert labels.dtype.kind == "i" and labels.tolist() == [1, 0]
    assert values.dtype == np.float64
    labels, _ = evaluate.labels_and_scores([0, 0], [0.1, 0.2], both_classes=False)
    assert labels.tolist() == [0, 0]
    with pytest.raises(ValueError, match="both normal"):
        evaluate.labels_and_scores([0, 0], [0.1, 0.2])


def test_pauc_rejects_bad_max_fpr():
    with pytest.raises(ValueError, match="max_fpr"):
        evaluate.pauc(Y, PERFECT, max_fpr=0.0)


def test_threshold_percentile_and_gamma():
    rng = np.random.default_rng(0)
    normal = stats.gamma.rvs(3.0, loc=0.0, scale=2.0, size=2000, random_state=rng)
    assert evaluate.threshold_from_normal(normal) == pytest.approx(np.quantile(normal, 0.9))
    gamma = evaluate.threshold_from_normal(normal, method="gamma", quantile=0.9)
    assert gamma == pytest.approx(stats.gamma.ppf(0.9, 3.0, scale=2.0), rel=0.05)
    # Negative scores (e.g. negative log-likelihoods) still work: the location is fitted.
    shifted = evaluate.threshold_from_normal(normal - 100, method="gamma")
    assert shifted == pytest.approx(gamma - 100, abs=0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "otsu"}, "method"), ({"quantile": 1.0}, "quantile")],
)
def test_threshold_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate.threshold_from_normal([1.0, 2.0, 3.0], **kwargs)


def test_threshold_needs_varying_scores():
    with pytest.raises(ValueError, match="two different values"):
        evaluate.threshold_from_normal([1.0, 1.0, 1.0])


def test_classification_report_hand_case_and_sklearn():
    y_true = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    y_pred = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    report = evaluate.classification_report(y_true, y_pred)
    assert (report["tp"], report["fn"], report["fp"], report["tn"]) == (3, 1, 1, 5)
    assert report["precision"] == pytest.approx(0.75)
    assert report["recall"] == pytest.approx(0.75)
    assert report["f1"] == pytest.approx(0.75)
    assert report["f2"] == pytest.approx(metrics.fbeta_score(y_true, y_pred, beta=2))
    assert report["accuracy"] == pytest.approx(0.8)
    assert all(type(report[key]) is int for key in ("tp", "fp", "fn", "tn"))


def test_classification_report_without_positive_predictions_is_zero_not_error():
    report = evaluate.classification_report([0, 1, 1], [0, 0, 0])
    assert report["precision"] == 0.0 and report["recall"] == 0.0 and report["fn"] == 2


def test_per_group_matches_groupwise_auc_and_mean():
    table = pd.DataFrame(
        {
            "label": ["normal", "anomaly", "normal", "anomaly", "normal", "anomaly"],
            "machine_id": ["id_00", "id_00", "id_00", "id_02", "id_02", "id_02"],
        }
    )
    scores = np.array([0.1, 0.9, 0.2, 0.3, 0.5, 0.4])  # id_00 perfect, id_02 reversed
    result = evaluate.per_group(table, scores)
    assert list(result.index) == ["id_00", "id_02", "mean"]
    assert result.loc["id_00", "auc"] == 1.0 and result.loc["id_02", "auc"] == 0.0
    assert result.loc["mean", "auc"] == 0.5
    assert list(result["n"]) == [3, 3, 6]
    assert result.index.name == "machine_id"


def test_per_group_one_class_group_is_nan_and_missing_column_raises():
    table = pd.DataFrame({"label": ["normal", "anomaly", "normal"], "machine_id": ["a", "a", "b"]})
    result = evaluate.per_group(table, [0.1, 0.9, 0.3])
    assert math.isnan(result.loc["b", "auc"]) and result.loc["mean", "auc"] == 1.0
    with pytest.raises(ValueError, match="no column 'fold'"):
        evaluate.per_group(table, [0.1, 0.9, 0.3], by="fold")


def test_summary_and_spread():
    assert evaluate.summary([0.9, 0.92, 0.94]) == pytest.approx((0.92, 0.02))
    assert evaluate.summary([0.8]) == (0.8, 0.0)
    assert evaluate.spread([0.9, 0.92, 0.94]) == "0.92 ± 0.02"
    assert evaluate.spread([0.9, 0.92, 0.94], digits=3) == "0.920 ± 0.020"


def test_results_dir_env_and_repo_default(results, monkeypatch):
    assert evaluate.results_dir() == results
    monkeypatch.delenv("COURSE_RESULTS")
    root = evaluate._repo_root()
    assert root is not None and (root / "_toc.yml").is_file()
    assert evaluate.results_dir() == root / "_build" / "results"


def test_results_dir_outside_repo_uses_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(evaluate, "_repo_root", lambda: None)
    assert evaluate.results_dir() == tmp_path / "results"


def test_record_writes_plain_json_lines(results):
    path = evaluate.record(
        chapter="04", dataset="toy_fan", method="GMM", metric="auc", value=np.float32(0.75),
        recommended=np.bool_(True), machine_id="id_00", seed=np.int64(3),
    )
    assert path == results / "04.jsonl"
    (line,) = path.read_text().splitlines()
    entry = json.loads(line)
    assert entry == {
        "chapter": "04", "dataset": "toy_fan", "method": "GMM", "metric": "auc",
        "value": 0.75, "recommended": True, "machine_id": "id_00", "seed": 3,
    }
    assert type(entry["value"]) is float and type(entry["recommended"]) is bool


def test_record_replaces_instead_of_duplicating(results):
    common = {"chapter": "04", "dataset": "toy_fan", "metric": "auc"}
    evaluate.record(method="GMM", value=0.5, **common)
    evaluate.record(method="KNN", value=0.6, **common)
    evaluate.record(method="GMM", value=0.7, recommended=True, **common)
    evaluate.record(method="GMM", value=0.8, seed=1, **common)  # extra key: a different record
    frame = evaluate.read_records()
    assert len(frame) == 3
    gmm = frame[(frame["method"] == "GMM") & frame["seed"].isna()]
    assert gmm["value"].tolist() == [0.7] and gmm["recommended"].tolist() == [True]
    assert not list(results.glob(".*tmp")), "temporary files must not be left behind"


def test_record_int_chapter_and_separate_files(results):
    evaluate.record(chapter=4, dataset="d", method="m", metric="auc", value=1)
    evaluate.record(chapter="05", dataset="d", method="m", metric="auc", value=0.5)
    assert sorted(p.name for p in results.iterdir()) == ["04.jsonl", "05.jsonl"]
    frame = evaluate.read_records()
    assert frame["chapter"].tolist() == ["04", "05"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"value": math.nan}, ValueError, "not finite"),
        ({"value": "0.9"}, TypeError, "real number"),
        ({"chapter": "../x"}, ValueError, "chapter"),
        ({"method": ""}, ValueError, "method"),
        ({"extra": [1, 2]}, TypeError, "str, int, float, bool or None"),
    ],
)
def test_record_rejects_bad_values(results, kwargs, error, message):
    arguments = {"chapter": "04", "dataset": "d", "method": "m", "metric": "auc", "value": 0.5}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        evaluate.record(**arguments)
    assert not results.exists() or not list(results.glob("*.jsonl"))


def test_read_records_empty_and_corrupt(results):
    frame = evaluate.read_records()
    assert frame.empty and list(frame.columns) == list(evaluate.RECORD_KEYS)
    results.mkdir()
    (results / "04.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="line 1 is not valid JSON"):
        evaluate.read_records()
    with pytest.raises(ValueError, match="delete the file"):
        evaluate.record(chapter="04", dataset="d", method="m", metric="auc", value=0.5)


# The Results page: book/_ext/course_site.py's {results-table} directive reads these records.


def _build_results_page(tmp_path, body: str = ".. results-table::\n") -> str:
    """Return the HTML of a one-page Sphinx site that uses the course extension."""
    source = tmp_path / "site"
    source.mkdir()
    (source / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO_ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['course_site']\n"
    )
    (source / "index.rst").write_text(f"Results\n=======\n\n{body}")
    out = tmp_path / "html"
    with docutils_namespace():  # forget the nodes a previous Sphinx app registered
        app = Sphinx(str(source), str(source), str(out), str(tmp_path / "doctrees"), "html",
                     warningiserror=True, status=None, freshenv=True)
        app.build()
    return (out / "index.html").read_text(encoding="utf8")


def test_results_page_tables_records_per_chapter(results, tmp_path):
    for method, auc_value, best in [("baseline", 0.7312, False), ("frames max", 0.9, True)]:
        for metric, value in [("auc", auc_value), ("pauc", auc_value - 0.1)]:
            evaluate.record(chapter="04", dataset="toy_fan", method=method, metric=metric,
                            value=value, recommended=best)
    evaluate.record(chapter="05", dataset="toy_fan", method="AE", metric="auc", value=0.8)
    page = _build_results_page(tmp_path)
    assert page.count('class="results-table') == 2
    assert "<p>0.731</p>" in page and "<p>0.631</p>" in page and "<p>0.900</p>" in page
    assert "frames max <strong>★ recommended</strong>" in page
    assert page.count("★ recommended") == 1
    assert page.index("Chapter 04") < page.index("Chapter 05")


def test_results_page_units_and_one_table_per_kind_of_measurement(results, tmp_path):
    for method, accuracy, best in [("random clips", 0.885, False),
                                   ("predefined folds", 0.7031, True)]:
        evaluate.record(chapter="03", dataset="toy_urban", method=method, metric="accuracy",
                        value=accuracy, recommended=best)
    for method, level, best in [("naive decimation", -9.0019, False),
                                ("anti-aliased resampling", -76.597, True)]:
        evaluate.record(chapter="01", dataset="toy_urban", method=method,
                        metric="alias_level_dbfs", value=level, recommended=best)
    for bits, snr in [(8, 49.9504), (16, 98.0321)]:
        evaluate.record(chapter="01", dataset="toy_urban", method="largest sine, quantised",
                        metric="snr_db", value=snr, bits=bits)
    evaluate.record(chapter="04", dataset="toy_fan", method="GMM", metric="auc", value=0.9)
    page = _build_results_page(tmp_path)
    assert page.count('class="results-table') == 4  # chapter 01 measures two kinds of thing
    assert "<p>-76.6</p>" in page and "<p>98.0</p>" in page and "<p>16</p>" in page
    assert "<p>0.703</p>" in page and "<p>0.900</p>" in page
    assert "<p>–</p>" not in page, "a table mixes rows that were measured differently"
    headers = ["Alias level (dBFS)", "<p>bits</p>", "SNR (dB)", "Accuracy", "AUC"]
    positions = [page.index(header) for header in headers]
    assert positions == sorted(positions)
    assert page.index("Chapter 01") < page.index("Chapter 03") < page.index("Chapter 04")
    assert "anti-aliased resampling <strong>★ recommended</strong>" in page
    assert "predefined folds <strong>★ recommended</strong>" in page


def test_results_page_without_records_shows_a_note(results, tmp_path):
    page = _build_results_page(tmp_path)
    assert 'class="results-empty"' in page and "No results have been recorded yet" in page


def test_gamma_threshold_of_non_negative_scores_is_above_the_median():
    scores = np.random.default_rng(3).gamma(shape=4.0, scale=50.0, size=400) + 500.0
    threshold = evaluate.threshold_from_normal(scores, method="gamma", quantile=0.9)
    assert threshold > np.median(scores)
    assert abs(np.mean(scores > threshold) - 0.1) < 0.08


def _record_two_detectors(chapter="04", dataset="toy_fan", interval=True):
    """Record a recommended detector (with its AUC interval) and a reference, both seed 0."""
    for method, auc_value, best in [("reference", 0.7312, False), ("frames p90", 0.98, True)]:
        evaluate.record(chapter=chapter, dataset=dataset, method=method, metric="auc",
                        value=auc_value, recommended=best, seed=0)
        evaluate.record(chapter=chapter, dataset=dataset, method=method, metric="pauc",
                        value=auc_value - 0.1, recommended=best, seed=0)
        if best and interval:
            for metric, value in [("auc_low", 0.951), ("auc_high", 0.9994)]:
                evaluate.record(chapter=chapter, dataset=dataset, method=method,
                                metric=metric, value=value, recommended=True, seed=0)


def test_results_headline_shows_recommended_method_interval_and_anchor(results, tmp_path):
    _record_two_detectors()
    _record_two_detectors(chapter="05", dataset="toy_pump", interval=False)
    evaluate.record(chapter="03", dataset="toy_urban", method="predefined folds",
                    metric="accuracy", value=0.7025, recommended=True, seed=0)
    body = (".. results-table::\n   :view: headline\n\n"
            "   auc toy_fan,dcase2020_task2:fan | 0.652 | DCASE baseline, fan\n"
            "   accuracy toy_fan | 0.813 | wrong metric: never shown\n")
    page = _build_results_page(tmp_path, body)
    table = page[page.index('class="results-headline'):page.index("</table>")]
    assert "frames p90" in table and "reference" not in table
    assert "0.980 [0.951, 0.999]" in table, "the AUC interval is not in the headline"
    assert table.count("<tr") == 1 + 3  # header + 04 toy_fan, 05 toy_pump, 03 toy_urban
    assert table.count("DCASE baseline, fan") == 1 and "0.652" in table
    assert "wrong metric" not in table and "0.813" not in table
    assert "auc_low" not in table and "seed" not in table


def test_results_details_drop_constant_keys_and_show_intervals_in_the_auc_cell(results,
                                                                             tmp_path):
    _record_two_detectors()
    _record_two_detectors(dataset="toy_pump", interval=False)
    page = _build_results_page(tmp_path)
    assert page.count('class="results-table') == 1, "interval bounds split the table"
    assert "<p>seed</p>" not in page and "recorded with seed = 0" in page
    assert "auc_low" not in page and "auc_high" not in page
    assert "<p>0.980 [0.951, 0.999]</p>" in page and "<p>0.731</p>" in page
    assert page.count('rowspan="2"') == 2, "each dataset cell should span its two methods"
    assert page.index("toy_fan") < page.index("toy_pump")


def test_results_details_keep_keys_that_vary(results, tmp_path):
    for seed, value in [(0, 0.9), (1, 0.8)]:
        evaluate.record(chapter="05", dataset="toy_fan", method="AE", metric="auc",
                        value=value, seed=seed)
    page = _build_results_page(tmp_path)
    assert "<p>seed</p>" in page and "recorded with" not in page


def test_results_figure_is_a_sharp_png_of_the_recommended_aucs(results, tmp_path):
    from PIL import Image

    _record_two_detectors()
    page = _build_results_page(tmp_path, ".. results-table::\n   :view: figure\n")
    image = tmp_path / "html" / "_images" / "course-results-auc.png"
    assert image.is_file() and 'src="_images/course-results-auc.png"' in page
    assert "width: 680px" in page
    assert Image.open(image).size[0] >= 2 * 680, "the figure is not drawn at 2x pixels"


def test_results_anchor_line_without_a_value_fails_the_build(results, tmp_path):
    _record_two_detectors()
    with pytest.raises(Exception, match="METRIC DATASETS"):
        _build_results_page(tmp_path, ".. results-table::\n   :view: headline\n\n"
                                      "   auc toy_fan 0.652 DCASE\n")

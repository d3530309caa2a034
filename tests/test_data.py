"""Data loading: CSV cells checked with line numbers; standardization; shipped, synthetic sets."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from symcalc.errors import SymcalcError
from symcalc.learn.data import (
    BUILTIN,
    DELIMITERS,
    MIN_SAMPLES,
    SYNTHETIC,
    Dataset,
    builtin,
    builtin_path,
    check_arrays,
    detect_delimiter,
    load_csv,
    load_data,
    standardize,
    synthetic,
)


def write(tmp_path, text: str, name: str = "data.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- CSV: good files -------------------------------------------------------------------


def test_csv_values_names_and_target(tmp_path):
    path = write(tmp_path, "age,height,weight\n3,95.5,14\n5,110,18.25\n7,121.5,22\n")
    data = load_csv(path, "height")
    assert data.feature_names == ("age", "weight")
    assert data.target == "height"
    np.testing.assert_array_equal(data.X, [[3, 14], [5, 18.25], [7, 22]])
    np.testing.assert_array_equal(data.y, [95.5, 110, 121.5])
    assert data.X.dtype == np.float64 and data.n_samples == 3 and data.n_features == 2


def test_csv_quotes_bom_whitespace_and_blank_lines(tmp_path):
    text = '\ufeff"a","b, with comma",y\n 1.5 , "2",3\n\n4,5,6\n'
    data = load_csv(write(tmp_path, text), "y")
    assert data.feature_names == ("a", "b, with comma")
    np.testing.assert_array_equal(data.X, [[1.5, 2], [4, 5]])


def test_csv_text_target_kept_for_classifiers(tmp_path):
    path = write(tmp_path, "x,label\n1,cat\n2,dog\n3,cat\n")
    data = load_csv(path, "label", text_target=True)
    assert data.target_is_text
    assert data.y.tolist() == ["cat", "dog", "cat"]


# -- CSV: every bad input names its line and column ------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("age,h\n3,95\nabc,110\n", r"data\.csv line 3, column 'age': 'abc' is not a number"),
        ("age,h\n3,95\n,110\n", r"line 3, column 'age': missing value \(empty cell\)"),
        ("age,h\n3,95\n4,nan\n", r"line 3, column 'h': 'nan' is not a finite number"),
        ("age,h\n3,95\n4,-inf\n", r"line 3, column 'h': '-inf' is not a finite number"),
        ("age,h\n3,95\n4\n", r"line 3: 1 cells, but the header has 2 columns"),
        ("age,h\n3,95\n4,5,6\n", r"line 3: 3 cells, but the header has 2 columns"),
        ("age,h\n3,95\n\n\n5,NA\n", r"line 5, column 'h': 'NA' is not a number"),
        ("age,h\n3,95\n4,1e400\n", r"line 3, column 'h': '1e400' is not a finite number"),
    ],
)
def test_csv_bad_cells_are_reported_with_line_numbers(tmp_path, text, message):
    with pytest.raises(SymcalcError, match=message):
        load_csv(write(tmp_path, text), "h")


def test_csv_bad_target_cell_in_regression_says_to_classify(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n2,three\n")
    with pytest.raises(
        SymcalcError, match=r"line 3, column 'y': 'three' is not a number; .*classifier"
    ):
        load_csv(path, "y")


def test_csv_empty_target_cell_is_reported_even_for_classifiers(tmp_path):
    path = write(tmp_path, "x,label\n1,cat\n2,\n")
    with pytest.raises(SymcalcError, match=r"line 3, column 'label': missing value"):
        load_csv(path, "label", text_target=True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"data\.csv is empty"),
        ("\n\n", r"data\.csv is empty"),
        ("a,y\n", r"has 0 data rows; at least 2"),
        ("a,y\n1,2\n", r"has 1 data row; at least 2"),
        ("a,a,y\n1,2,3\n4,5,6\n", r"column name 'a' appears twice"),
        ("a,,y\n1,2,3\n4,5,6\n", r"line 1: column 2 has no name"),
        ("1,2,3\n4,5,6\n", r"line 1 holds numbers, not column names; add a header row"),
        ("y\n1\n2\n", r"no feature columns besides the target 'y'"),
    ],
)
def test_csv_bad_files(tmp_path, text, message):
    with pytest.raises(SymcalcError, match=message):
        load_csv(write(tmp_path, text), "y")


def test_csv_unknown_target_suggests_a_column(tmp_path):
    path = write(tmp_path, "age,height\n1,2\n3,4\n")
    with pytest.raises(
        SymcalcError, match=r"no column 'hieght' in data\.csv; did you mean 'height'\?"
    ):
        load_csv(path, "hieght")
    with pytest.raises(
        SymcalcError, match=r"name the column to predict with `target`; .*age, height"
    ) as refused:
        load_csv(path, None)
    assert refused.value.parameter == "target"


def test_csv_missing_file_folder_and_encoding(tmp_path):
    with pytest.raises(SymcalcError, match=r"data file '.*nope\.csv' not found"):
        load_csv(tmp_path / "nope.csv", "y")
    with pytest.raises(SymcalcError, match=r"is a folder"):
        load_csv(tmp_path, "y")
    latin = write(tmp_path, "caf\xe9,y\n1,2\n3,4\n", encoding="latin-1")
    with pytest.raises(SymcalcError, match=r"not UTF-8 text"):
        load_csv(latin, "y")


# -- arrays ---------------------------------------------------------------------------------


def test_check_arrays_shapes_and_values():
    X, y = check_arrays([1.0, 2.0, 3.0], np.array([[1.0], [2.0], [3.0]]))
    assert X.shape == (3, 1) and y.shape == (3,)
    with pytest.raises(SymcalcError, match=r"X has 3 rows but y has 2 values"):
        check_arrays(np.ones((3, 2)), [1.0, 2.0])
    with pytest.raises(SymcalcError, match=r"X has a NaN or infinite value at row 2, column 1"):
        check_arrays([[1.0, 2.0], [3.0, 4.0], [5.0, np.inf]])
    with pytest.raises(SymcalcError, match=r"y has a NaN or infinite value at row 1"):
        check_arrays(np.ones((2, 1)), [0.0, np.nan])
    with pytest.raises(SymcalcError, match=r"must be 2-D"):
        check_arrays(np.ones((2, 2, 2)))
    with pytest.raises(SymcalcError, match=rf"at least {MIN_SAMPLES} are needed"):
        check_arrays(np.ones((1, 3)))
    with pytest.raises(SymcalcError, match=r"table of numbers"):
        check_arrays([["a", "b"], ["c", "d"]])
    with pytest.raises(SymcalcError, match=r"y must be 1-D"):
        check_arrays(np.ones((3, 2)), np.ones((3, 2)))


# -- standardization --------------------------------------------------------------------------


def test_standardize_matches_numpy_and_round_trips(rng):
    X = rng.normal(loc=[5.0, -300.0, 0.001], scale=[2.0, 50.0, 1e-4], size=(500, 3))
    Xs, mean, scale = standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(Xs * scale + mean, X, rtol=1e-13)
    data = Dataset(X, X[:, 0], ("a", "b", "c"), "a").standardized()
    assert data.is_standardized and data.standardized() is data
    np.testing.assert_allclose(data.X * data.scale + data.mean, X, rtol=1e-13)


def test_standardize_refuses_a_constant_column():
    X = np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]])
    with pytest.raises(SymcalcError, match=r"column 'size' of .* is constant \(every value is 7\)"):
        standardize(X, ("age", "size"))


# -- shipped real data ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_set_loads_with_its_target(name):
    data = load_data(f"builtin:{name}")
    assert data.target == BUILTIN[name].target
    assert data.source == f"builtin:{name}"
    assert np.isfinite(data.X).all() and data.n_samples >= 100
    assert builtin_path(name).is_file()
    if name == "digits":  # some pixels are 0 in every image: nothing to divide by
        with pytest.raises(SymcalcError, match=r"column 'pixel_0_0' of builtin:digits is constant"):
            data.standardized()
    else:
        assert data.standardized().X.std(axis=0) == pytest.approx(1.0)


def test_wine_and_digits_match_their_published_summaries():
    """scikit-learn's descr/wine_data.rst and descr/digits.rst (from the UCI pages)."""
    wine = builtin("wine")
    assert wine.X.shape == (178, 13)
    assert [list(wine.y).count(c) for c in ("class_0", "class_1", "class_2")] == [59, 71, 48]
    assert (wine.X[:, 0].min(), wine.X[:, -1].max()) == (11.03, 1680.0)  # alcohol, proline
    np.testing.assert_allclose(wine.X.mean(axis=0)[[0, 4, 12]], [13.0, 99.7, 746], rtol=0.002)
    digits = builtin("digits")
    assert digits.X.shape == (1797, 64) and digits.X.min() == 0 and digits.X.max() == 16
    assert sorted(set(digits.y.tolist())) == list(range(10))
    assert all(170 <= list(digits.y).count(c) <= 185 for c in range(10))


def test_builtin_sets_match_their_published_summaries():
    # Summary statistics printed in the data sets' own documentation (scikit-learn's
    # descr/*.rst and the original papers): an independent check of the conversion.
    iris = builtin("iris")
    assert iris.X.shape == (150, 4)
    np.testing.assert_allclose(iris.X.mean(axis=0), [5.84, 3.05, 3.76, 1.20], atol=0.01)
    np.testing.assert_allclose(iris.X.std(axis=0, ddof=1), [0.83, 0.43, 1.76, 0.76], atol=0.006)
    assert sorted(set(iris.y)) == ["setosa", "versicolor", "virginica"]
    assert all(list(iris.y).count(c) == 50 for c in set(iris.y))

    cancer = builtin("breast_cancer")
    assert cancer.X.shape == (569, 30)
    assert list(cancer.y).count("malignant") == 212 and list(cancer.y).count("benign") == 357
    radius = cancer.feature_names.index("mean_radius")
    assert cancer.X[:, radius].min() == pytest.approx(6.981) and cancer.X[
        :, radius
    ].max() == pytest.approx(28.11)
    worst_area = cancer.feature_names.index("worst_area")
    assert cancer.X[:, worst_area].max() == pytest.approx(4254.0)

    diabetes = builtin("diabetes")
    assert diabetes.X.shape == (442, 10)
    assert diabetes.feature_names[:4] == ("age", "sex", "bmi", "bp")
    assert diabetes.y.min() == 25 and diabetes.y.max() == 346
    assert diabetes.y.mean() == pytest.approx(152.133484, abs=1e-6)


def test_builtin_unknown_name():
    with pytest.raises(SymcalcError, match=r"no shipped data set 'iriss'; did you mean 'iris'\?"):
        load_data("builtin:iriss")


def test_builtin_readme_documents_every_set():
    readme = (builtin_path("iris").parent / "README.md").read_text(encoding="utf-8")
    for spec in BUILTIN.values():
        assert spec.file in readme
    assert "BSD 3-Clause" in readme and "CC BY 4.0" in readme


# -- synthetic data ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_sets_are_seeded(name):
    first, again, other = synthetic(name), synthetic(name), synthetic(name, seed=1)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.array_equal(first.X, other.X)
    spec = SYNTHETIC[name]
    assert first.X.shape == (spec.n_samples, spec.n_features)
    assert first.target == spec.target and np.isfinite(first.X).all()
    small = synthetic(name, n_samples=10, n_features=1, noise=0.3)
    assert small.X.shape == (10, 1) and small.feature_names == ("x1",)


def test_synthetic_linear_follows_its_recipe():
    data = synthetic("linear", n_samples=20000)
    X1 = np.column_stack([np.ones(data.n_samples), data.X])
    coefficients = np.linalg.lstsq(X1, data.y, rcond=None)[0]
    np.testing.assert_allclose(coefficients, [1.5, 2.0, -1.0, 0.5], atol=0.02)
    residual = data.y - X1 @ coefficients
    assert residual.std() == pytest.approx(0.5, rel=0.03)


def test_synthetic_classes():
    blobs, moons, logistic = synthetic("blobs"), synthetic("moons"), synthetic("logistic")
    assert np.bincount(blobs.y.astype(int)).tolist() == [100, 100, 100]
    assert np.bincount(moons.y.astype(int)).tolist() == [150, 150]
    counts = np.bincount(logistic.y.astype(int))
    assert counts.min() > 50  # both classes, well mixed


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_samples": 1}, r"n_samples must be a whole number of at least 2"),
        ({"n_samples": 2.5}, r"n_samples must be a whole number"),
        ({"n_features": 0}, r"n_features must be a whole number of at least 1"),
        ({"noise": 0.0}, r"noise must be a positive number"),
        ({"noise": float("nan")}, r"noise must be a positive number"),
    ],
)
def test_synthetic_bad_arguments(kwargs, message):
    with pytest.raises(SymcalcError, match=message):
        synthetic("linear", **kwargs)


def test_load_data_dispatch_and_errors(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n2,4\n3,7\n")
    assert load_data(str(path), "y").source == str(path)
    assert load_data(path, "y", standardize=True).is_standardized
    with pytest.raises(SymcalcError, match=r"unknown synthetic data set 'lin'.*available: linear"):
        load_data("synthetic:lin")
    with pytest.raises(
        SymcalcError, match=r"synthetic:linear has one target column, 'y'; drop `target`"
    ):
        load_data("synthetic:linear", target="x1")
    with pytest.raises(SymcalcError, match=r"no data given"):
        load_data("  ")
    with pytest.raises(
        SymcalcError, match=r"holds text labels; a regression target must be numeric"
    ):
        load_data("builtin:iris", text_target=False)


# -- CSV delimiters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x1;x2;y\n1;2;3\n4;5;6\n7;8;10\n",
        "x1\tx2\ty\n1\t2\t3\n4\t5\t6\n7\t8\t10\n",
        "x1,x2,y\n1,2,3\n4,5,6\n7,8,10\n",
        '"x1";"x2";"y"\n1;2;3\n4;5;6\n7;8;10\n',
        "\n\nx1;x2;y\n1;2;3\n4;5;6\n7;8;10\n",  # blank lines before the header
    ],
)
def test_the_delimiter_is_detected_from_the_header(tmp_path, text):
    data = load_csv(write(tmp_path, text), "y")
    assert data.feature_names == ("x1", "x2")
    np.testing.assert_array_equal(data.X, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(data.y, [3, 6, 10])


def test_detect_delimiter_ignores_quoted_text():
    assert detect_delimiter('"a;b;c",d') == ","
    assert detect_delimiter("a;b,c;d") == ";"
    assert detect_delimiter("single") == ","
    assert set(DELIMITERS) == {",", ";", "\t"}


def test_an_explicit_delimiter_is_used_and_checked(tmp_path):
    semicolons = write(tmp_path, "x1;x2;y\n1;2;3\n4;5;6\n")
    assert load_data(semicolons, "y", delimiter=";").feature_names == ("x1", "x2")
    tabs = write(tmp_path, "a\tb,c\ty\n1\t2\t3\n4\t5\t6\n", "tabs.tsv")
    assert load_csv(tabs, "y", delimiter="tab").feature_names == ("a", "b,c")
    with pytest.raises(SymcalcError, match=r"delimiter must be ',', ';' or tab .*got '\|'"):
        load_data(semicolons, "y", delimiter="|")


@pytest.mark.parametrize(
    ("text", "delimiter", "which"),
    [
        ("x1;x2;y\n1;2;3\n4;5;6\n", ",", "semicolon"),
        ('"x1;x2;y"\n1\n2\n', None, "semicolon"),
        ("x1\tx2\ty\n1\t2\t3\n4\t5\t6\n", ",", "tab"),
    ],
)
def test_a_one_column_header_holding_another_delimiter_says_so(tmp_path, text, delimiter, which):
    with pytest.raises(
        SymcalcError, match=rf"line 1 has one column, .* contains a {which}: the file looks"
    ):
        load_csv(write(tmp_path, text), "y", delimiter=delimiter)


def test_a_decimal_comma_in_a_semicolon_file_names_its_cell(tmp_path):
    path = write(tmp_path, "x;y\n1,5;2\n2,5;3\n")
    with pytest.raises(SymcalcError, match=r"line 2, column 'x': '1,5' is not a number"):
        load_csv(path, "y")


# -- blank lines ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x,y\n1,2\n2,4\n3,7\n   \n  \n",
        "x,y\n1,2\n  \n2,4\n3,7\n\t\n",
        "x\ty\n1\t2\n2\t4\n3\t7\n \t \n\t\n",
        "x;y\n1;2\n2;4\n3;7\n \n",
    ],
)
def test_lines_of_only_whitespace_are_blank_lines(tmp_path, text):
    data = load_csv(write(tmp_path, text), "y")
    np.testing.assert_array_equal(data.y, [2, 4, 7])


def test_a_row_of_empty_cells_is_still_a_row_with_missing_values(tmp_path):
    with pytest.raises(SymcalcError, match=r"line 3, column 'x': missing value"):
        load_csv(write(tmp_path, "x,y\n1,2\n,\n3,7\n"), "y")


# -- quotes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('x1,y\n1,1.5\n2,"2.5\n3,3\n4,3\n5,6\n', r"line 3, column 'y': the quote at character 3"),
        ('x1,y\n1,1.5\n"2,2.5\n3,3\n', r"line 3, column 'x1': the quote at character 1"),
        ('x1;y\n1;1.5\n2;"a;b\n3;3\n', r"line 3, column 'y': the quote at character 3"),
        ('x1,"y\n1,1.5\n2,3\n', r"line 1, cell 2: the quote at character 4"),
    ],
)
def test_an_unterminated_quote_is_reported_where_it_opens(tmp_path, text, message):
    with pytest.raises(SymcalcError, match=message + " opens and is never closed"):
        load_csv(write(tmp_path, text), "y", text_target=True)


# -- the target: never NaN labels, never a silent mix -------------------------------------


@pytest.mark.parametrize("cell", ["NaN", "nan", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("labels", [("a", "b"), ("0", "1")])
def test_nan_or_inf_in_a_target_is_never_a_class_label(tmp_path, cell, labels):
    text = f"x,y\n1,{labels[0]}\n2,{labels[1]}\n3,{cell}\n4,{labels[0]}\n"
    with pytest.raises(SymcalcError, match=rf"line 4, column 'y': '{cell}' is not a finite"):
        load_data(write(tmp_path, text), "y")  # text targets allowed, as for classifiers


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["1.5", "2.5", "3.O", "4"], r"line 4, column 'y': '3.O' is not a number, while the other"),
        (["cat", "dog", "5.1", "cat"], r"line 4, column 'y': '5.1' is a number, while the other"),
        (["1", "2", "cat", "dog"], r"line 4, column 'y': 'cat' is not a number"),
    ],
)
def test_a_target_that_mixes_numbers_and_words_names_the_odd_cell(tmp_path, cells, message):
    text = "x,y\n" + "".join(f"{k},{c}\n" for k, c in enumerate(cells))
    with pytest.raises(SymcalcError, match=message):
        load_data(write(tmp_path, text), "y")


def test_a_typo_in_a_regression_target_names_line_and_cell(tmp_path, cli):
    path = write(tmp_path, "x,y\n1,1.5\n2,2.5\n3,3.O\n4,3\n")
    result = cli("descend", "linear", "--data", str(path), "--target", "y")
    assert result.returncode == 2
    assert "line 4, column 'y': '3.O' is not a number" in result.stderr
    nan = write(tmp_path, "x,y\n1,1.5\n2,nan\n3,2\n", "nan.csv")
    result = cli("descend", "softmax", "--data", str(nan), "--target", "y")
    assert result.returncode == 2 and "line 3, column 'y': 'nan'" in result.stderr


def test_descend_reads_a_delimiter_given_on_the_command_line(tmp_path, cli):
    path = write(tmp_path, "x1;x2;y\n1;2;3\n4;5;6\n7;8;10\n2;2;4\n")
    result = cli("descend", "linear", "--data", str(path), "--target", "y", "--delimiter", ";")
    assert result.returncode == 0, result.stderr
    wrong = cli("descend", "linear", "--data", str(path), "--target", "y", "--delimiter", ",")
    assert wrong.returncode == 2 and "looks semicolon-separated" in wrong.stderr


# -- standardizing over the whole float range ----------------------------------------------


@pytest.mark.parametrize(
    "column",
    [
        [1e200, -1e200, 3e200],
        [1.7976931348623157e308, -1.7976931348623157e308, 0.0],
        [1e308, 1.5e308, 1.7e308],
        [5e-324, 0.0, 1e-323],
        [1e-300, 2e-300, -3e-300],
        [-1e308, 1e-308, 1e308],
        [3.4e38, -3.4e38, 1.0],
        [5.0, -300.0, 0.001],
    ],
)
def test_standardize_holds_over_the_whole_finite_range(column, mp_digits):
    mp_digits(60)
    X = np.array(column)[:, None]
    Xs, mean, scale = standardize(X)  # warnings are errors in the tests
    exact = [mpmath.mpf(v) for v in column]
    mu = mpmath.fsum(exact) / len(exact)
    sigma = mpmath.sqrt(mpmath.fsum((v - mu) ** 2 for v in exact) / len(exact))
    assert np.isfinite(Xs).all() and np.isfinite(mean).all() and np.isfinite(scale).all()
    for got, v in zip(Xs.ravel(), exact, strict=True):
        assert abs(got - float((v - mu) / sigma)) <= 1e-12 * max(1.0, abs(got))
    assert abs(scale[0] - float(sigma)) <= 1e-14 * float(sigma)


def test_descend_on_huge_values_prints_no_warning(tmp_path, cli):
    # in the tests warnings are errors: a leaked RuntimeWarning would end the run with exit 1
    path = write(tmp_path, "x1,y\n1e200,1\n-1e200,2\n3e200,3\n2e200,5\n")
    result = cli("descend", "linear", "--data", str(path), "--target", "y", "--standardize")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_check_arrays_refuses_complex_x():
    # np.asarray(X, dtype=float) dropped the imaginary parts with only a ComplexWarning,
    # and the model was fitted to the real parts.
    X = np.array([[1 + 5j, 2.0], [2.0, 1.0], [3.0, 3j], [4.0, 4.0]])
    with pytest.raises(SymcalcError, match="complex"):
        check_arrays(X, [1.0, 2.0, 3.0, 4.0])

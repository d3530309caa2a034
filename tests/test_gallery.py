"""The catalog gallery (``symcalc gallery``), the committed gallery, and the gallery scripts.

What a page says is checked against the results it reports (the derivation's steps,
the antiderivative, the FTC check) and against independent truth where the page makes
a claim of its own (one-sided difference quotients at a kink, the power-of-ten bounds);
the Markdown is checked for GitHub (fences, tables, links, math), the PNGs decode to
figures of the stated size; building twice gives identical bytes, with and without
worker processes; the manifest protects files the gallery did not write; and the committed
``gallery/catalog`` is what a fresh build gives.  (The ``gallery/plot_*.py`` scripts are
tested in test_gallery_scripts.py.)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import sympy
from test_notebook import check_latex

import symcalc
from symcalc import CATALOG
from symcalc.errors import SymcalcError
from symcalc.present import gallery as g
from symcalc.symbolic import render

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
COMMITTED = GALLERY / "catalog"
#: Entries whose committed page is rebuilt and compared byte for byte: an activation with
#: a kink, one without a closed-form antiderivative, a loss of two variables with a
#: parameter, and one integrated by textbook rules.
REBUILT = ["relu", "silu", "huber", "sigmoid"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def math_blocks(markdown: str) -> list[str]:
    """The LaTeX of every ```math fence and every $`...`$ span."""
    blocks = re.findall(r"^```math\n(.*?)\n```$", markdown, flags=re.S | re.M)
    inline = re.findall(r"\$`(.*?)`\$", markdown)
    return blocks + inline


def check_markdown(markdown: str, folder: Path) -> None:
    """What GitHub needs: closed fences, tables with one cell per column, links that resolve."""
    assert markdown.count("```") % 2 == 0, "an unclosed code fence"
    outside = re.sub(r"^```.*?^```$", "", markdown, flags=re.S | re.M)
    assert "$$" not in outside, "display math goes in ```math fences on GitHub"
    for latex in math_blocks(markdown):
        check_latex(latex)
    table: list[int] = []
    for line in outside.splitlines() + [""]:
        if line.startswith("|"):
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            table.append(cells)
        elif table:
            assert len(set(table)) == 1, f"table rows have {table} cells"
            table = []
    inline_code = re.sub(r"`[^`]*`", "", outside)
    links = re.findall(r"\]\(([^)\s]+)\)", inline_code) + re.findall(r'src="([^"]+)"', outside)
    links += re.findall(r'href="([^"]+)"', outside)
    for link in links:
        if "://" in link:
            continue
        assert (folder / link).is_file(), f"the link {link} points nowhere"


def decode(data: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(data), format="png")


_BUILD_PAGE = g.build_page


@functools.cache
def _page(name: str, figures: bool = True, timeout: float = g.DEFAULT_TIMEOUT) -> g.EntryPage:
    """`build_page`, once per test process: a page is the same bytes every time (see
    test_two_builds_are_byte_identical_with_and_without_worker_processes)."""
    return _BUILD_PAGE(name, timeout=timeout, figures=figures)


def _page_once(name: str, *, timeout: float = g.DEFAULT_TIMEOUT, figures: bool = True):
    return _page(name, figures, timeout)


@pytest.fixture
def pages_once(monkeypatch):
    """`build_page` answered from `_page`: for tests of what `build_gallery` does with pages
    (writing, refusing, replacing, the manifest, progress), not of what a page holds."""
    monkeypatch.setattr(g, "build_page", _page_once)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build of a few entries (activations and losses, with and without closed form)."""
    folder = tmp_path_factory.mktemp("gallery")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(g, "build_page", _page_once)  # shares pages with `rebuilt`
        result = g.build_gallery(folder, only="relu,silu,huber,leaky_relu")
    return folder, result


# -- choosing entries ---------------------------------------------------------------------


def test_select_entries_takes_names_and_aliases_in_catalog_order():
    assert g.select_entries("swish, relu,RELU,,mse") == ["relu", "silu", "squared_error"]
    assert g.select_entries(["huber", "sigmoid,tanh"]) == ["sigmoid", "tanh", "huber"]
    assert g.select_entries(None) == list(CATALOG)


@pytest.mark.parametrize(
    "only, message",
    [
        ("sigmod", r"unknown catalog entry 'sigmod'; did you mean 'sigmoid'\?"),
        ("relu, qqqq", r"unknown catalog entry 'qqqq' \(see 'symcalc list'"),
        (" , ", r"`only` needs at least one catalog name"),
        (42, r"`only` must be names separated by commas"),
    ],
)
def test_select_entries_refuses_bad_names(only, message):
    with pytest.raises(SymcalcError, match=message):
        g.select_entries(only)


# -- what a page says ---------------------------------------------------------------------


def test_build_writes_every_file_and_reports_what_it_found(built):
    folder, result = built
    names = ["relu", "leaky_relu", "silu", "huber"]  # catalog order
    expected = {f for n in names for f in g.entry_files(n)} | {"README.md", g.MANIFEST_NAME}
    assert {p.name for p in folder.iterdir()} == expected
    assert set(result.written) == expected and result.unchanged == ()
    assert result.entries == tuple(names)
    assert result.without_antiderivative == ("silu",)
    assert result.symbolic_checked == ("relu", "leaky_relu", "huber")
    assert result.held and result.ftc_failures == () and result.errors == ()
    assert result.to_text().startswith(f"gallery: 4 entries in {folder}: 14 files written")
    assert "no closed-form antiderivative for 1 (silu)" in result.to_text()


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "silu", "huber"])
def test_page_shows_the_results_it_reports(built, name):
    folder, _ = built
    page = (folder / f"{name}.md").read_text(encoding="utf-8")
    check_markdown(page, folder)
    entry = CATALOG[name]
    derivation = symcalc.derive(name)
    check = symcalc.check_ftc(name)
    assert f"# {g._text(name)}\n" in page
    assert g._math_block(entry.latex()) in page
    for tree in derivation.steps:  # the step-by-step derivative, verbatim
        assert g._math_block(render.to_latex(tree, derivation.partial_variables)) in page
    assert render.TextbookLatexPrinter().doprint(derivation.derivative) in page
    found = check.antiderivative
    if found.found:
        assert g._math_block(found.latex_equation()) in page
        if found.step_list():
            assert g._math_block(found.steps_latex()) in page
        assert "No closed form" not in page
    else:
        assert f"No closed form: {found.reason}." in page
        assert "- **symbolic**: not checked" in page
    assert f"- **numeric**: held at {check.points} points" in page
    assert "![" in page and f"]({name}.png)" in page and f"]({name}_ftc.png)" in page
    assert str(folder) not in page and " s)" not in page  # no paths, no timings


def test_a_kink_is_where_the_one_sided_difference_quotients_differ(built):
    folder, _ = built
    page = (folder / "relu.md").read_text(encoding="utf-8")
    relu = symcalc.kernel("relu")
    h = 1e-6
    right, left = (relu(h) - relu(0.0)) / h, (relu(0.0) - relu(-h)) / h
    assert (left, right) == (0.0, 1.0)  # not differentiable at 0
    assert "relu is not differentiable at $`x = 0`$" in page
    assert r"\frac{d}{dx} \operatorname{relu}\left(x\right) = 0`$ at $`x = 0`$" in page
    assert "Heaviside}(0) = 0" in page and "PyTorch and JAX" in page
    huber = (folder / "huber.md").read_text(encoding="utf-8")
    assert "None: huber is differentiable everywhere on its domain" in huber


def test_a_loss_page_says_how_it_is_viewed_as_a_function_of_one_variable(built):
    folder, _ = built
    page = (folder / "huber.md").read_text(encoding="utf-8")
    assert "as a function of $`p`$ alone, with $`y = 0`$, $`\\delta = 1`$" in page
    assert r"\frac{\partial}{\partial p} \operatorname{huber}\left(p, y\right)" in page


@pytest.mark.parametrize("error", [3.1e-16, 1e-15, 9.99e-13, 0.5, 2.0, 123.0])
def test_error_bounds_are_the_power_of_ten_at_or_above(error):
    shown = g._bound(error)
    bound = float(shown.removeprefix("≤ "))
    assert error <= bound < 10 * error * (1 + 1e-12)
    assert g._bound(0.0) == "0" and g._bound(math.inf) == "∞" and g._bound(None) == "n/a"


def test_figures_decode_at_the_stated_size_and_show_the_curves(built):
    folder, _ = built
    function, ftc = (
        decode((folder / "relu.png").read_bytes()),
        decode((folder / "relu_ftc.png").read_bytes()),
    )
    assert function.shape[:2] == (round(3 * 0.85 * 3.4 * g.DPI), round(1.5 * 4.4 * g.DPI))
    assert ftc.shape[:2] == (round(3.4 * g.DPI), round(2 * 4.4 * g.DPI))
    blue = np.array([0x00, 0x72, 0xB2]) / 255  # the colour of f in every symcalc figure
    for image in (function, ftc):
        close = np.all(np.abs(image[..., :3] - blue) < 0.05, axis=2)
        assert close.mean() > 0.002, "no curve of f drawn"


def test_index_lists_every_entry_with_thumbnail_and_links(built):
    folder, _ = built
    index = (folder / "README.md").read_text(encoding="utf-8")
    check_markdown(index, folder)
    for name in ("relu", "leaky_relu", "silu", "huber"):
        assert f'<a href="{name}.md"><img src="{name}.png" width="{g.THUMBNAIL_WIDTH}"' in index
        assert f"**[{g._text(name)}]({name}.md)**" in index
    assert index.index("## Activations") < index.index("relu.md") < index.index("## Losses")
    assert index.index("## Losses") < index.index("huber.md")
    assert "4 entries, 3 with a closed-form antiderivative" in index
    assert "|" not in "".join(math_blocks(index)), "a '|' in a cell's math would split the cell"


def test_manifest_lists_every_file_with_its_sha256(built):
    folder, _ = built
    manifest = json.loads((folder / g.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["generator"] == "symcalc gallery"
    files = manifest["files"]
    assert set(files) == {p.name for p in folder.iterdir()} - {g.MANIFEST_NAME}
    for name, digest in files.items():
        assert digest == sha256(folder / name)
    assert list(files) == sorted(files)
    assert set(manifest["entries"]) == {"relu", "leaky_relu", "silu", "huber"}


# -- deterministic ------------------------------------------------------------------------


def test_two_builds_are_byte_identical_with_and_without_worker_processes(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(g, "build_page", _page_once)  # pages built in this process
        g.build_gallery(first, only="sigmoid,hinge")
    g.build_gallery(second, only="hinge,sigmoid", jobs=2)  # built afresh in two workers
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# -- nothing is lost ----------------------------------------------------------------------


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_file_the_gallery_did_not_write_is_refused_before_any_work(tmp_path, pages_once):
    (tmp_path / "README.md").write_text("my own notes\n")
    with pytest.raises(
        SymcalcError,
        match=r"README.md' exists and was not written by symcalc "
        r"gallery; move it away or pass `force=True`",
    ):
        g.build_gallery(tmp_path, only="identity")
    assert folder_state(tmp_path) == {"README.md": b"my own notes\n"}
    result = g.build_gallery(tmp_path, only="identity", force=True)
    assert "README.md" in result.written
    manifest = json.loads((tmp_path / g.MANIFEST_NAME).read_text())
    assert manifest["files"]["README.md"] == sha256(tmp_path / "README.md")


def test_a_rebuild_replaces_its_own_files_and_leaves_identical_ones_alone(tmp_path, pages_once):
    g.build_gallery(tmp_path, only="identity")
    (tmp_path / "identity.md").write_text("stale page\n")
    before = (tmp_path / "identity.png").stat().st_mtime_ns
    result = g.build_gallery(tmp_path, only="identity")
    assert result.written == ("identity.md",)
    assert set(result.unchanged) == {
        "identity.png",
        "identity_ftc.png",
        "README.md",
        g.MANIFEST_NAME,
    }
    assert (tmp_path / "identity.png").stat().st_mtime_ns == before
    assert "stale page" not in (tmp_path / "identity.md").read_text()


def test_a_partial_build_keeps_the_other_entries_pages_and_index_rows(tmp_path, pages_once):
    g.build_gallery(tmp_path, only="identity")
    result = g.build_gallery(tmp_path, only="relu")
    assert result.entries == ("relu",) and result.removed == ()
    assert (tmp_path / "identity.md").is_file()
    index = (tmp_path / "README.md").read_text()
    assert "(identity.md)" in index and "(relu.md)" in index
    assert "2 entries" in index


def test_pages_of_entries_that_left_the_catalog_are_removed_only_if_unchanged(tmp_path, pages_once):
    g.build_gallery(tmp_path, only="identity")
    path = tmp_path / g.MANIFEST_NAME
    manifest = json.loads(path.read_text())
    for name, text in (("gone.md", "old page\n"), ("edited.md", "old page\n")):
        (tmp_path / name).write_text(text)
        manifest["files"][name] = hashlib.sha256(text.encode()).hexdigest()
    manifest["entries"]["gone"] = {"files": ["gone.md", "edited.md"], "kind": "activation"}
    path.write_text(json.dumps(manifest))
    (tmp_path / "edited.md").write_text("someone edited this\n")
    (tmp_path / "notes.txt").write_text("not the gallery's\n")
    result = g.build_gallery(tmp_path, only="identity")
    assert result.removed == ("gone.md",) and result.kept == ("edited.md",)
    assert not (tmp_path / "gone.md").exists()
    assert (tmp_path / "edited.md").read_text() == "someone edited this\n"
    assert (tmp_path / "notes.txt").read_text() == "not the gallery's\n"
    files = json.loads(path.read_text())["files"]
    assert "gone.md" not in files and "edited.md" not in files and "notes.txt" not in files
    assert "1 stale but edited, kept: edited.md" in result.to_text()


def test_a_foreign_manifest_is_refused_unless_forced(tmp_path, pages_once):
    (tmp_path / g.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(SymcalcError, match="is not a symcalc gallery manifest; move it away"):
        g.build_gallery(tmp_path, only="identity")
    assert g.build_gallery(tmp_path, only="identity", force=True).held


def test_a_manifest_never_reaches_outside_its_folder(tmp_path, pages_once):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    folder = tmp_path / "gallery"
    g.build_gallery(folder, only="identity")
    manifest = json.loads((folder / g.MANIFEST_NAME).read_text())
    manifest["files"]["../precious.txt"] = sha256(outside)
    (folder / g.MANIFEST_NAME).write_text(json.dumps(manifest))
    result = g.build_gallery(folder, only="identity")
    assert outside.read_text() == "keep me\n" and result.removed == ()


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"jobs": 0}, "`jobs` must be a whole number from 1 to 64"),
        ({"jobs": 2.0}, "`jobs` must be a whole number from 1 to 64"),
        ({"timeout": -1}, "`timeout` must be a positive number of seconds"),
        ({"timeout": float("nan")}, "`timeout` must be a positive number of seconds"),
        ({"timeout": "soon"}, "`timeout` must be a number of seconds"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, arguments, message):
    with pytest.raises(SymcalcError, match=message):
        g.build_gallery(tmp_path, only="identity", **arguments)
    assert list(tmp_path.iterdir()) == []


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SymcalcError, match="is a file; `out` needs a folder"):
        g.build_gallery(tmp_path / "file", only="identity")


def test_a_failed_check_is_reported_not_raised(tmp_path, monkeypatch):
    import symcalc.numeric.ftc

    original = symcalc.numeric.ftc.check_ftc

    def wrong_antiderivative(f, *args, **kwargs):  # a broken integrator: F = x
        return original(f, *args, antiderivative="x", **kwargs)

    monkeypatch.setattr(symcalc.numeric.ftc, "check_ftc", wrong_antiderivative)
    result = g.build_gallery(tmp_path, only="tanh")
    assert not result.held and result.ftc_failures == ("tanh",)
    assert "FTC check FAILED for tanh" in result.to_text()
    page = (tmp_path / "tanh.md").read_text()
    assert "- **symbolic**: FAILED" in page and "- **numeric**: FAILED" in page
    assert "the fundamental theorem check FAILED for tanh" in (tmp_path / "README.md").read_text()


def test_an_entry_that_cannot_be_built_is_reported_and_the_others_are_built(
    tmp_path, pages_once, monkeypatch
):
    def broken(name, *, timeout):
        if name == "tanh":
            raise RuntimeError("boom")
        return original(name, timeout=timeout)

    original = g.build_page
    monkeypatch.setattr(g, "build_page", broken)
    result = g.build_gallery(tmp_path, only="identity,tanh")
    assert result.errors == (("tanh", "RuntimeError: boom"),) and not result.held
    assert (tmp_path / "identity.md").is_file() and not (tmp_path / "tanh.md").exists()
    assert "tanh: not built (RuntimeError: boom)" in result.to_text()


def test_progress_is_reported_after_each_entry(tmp_path, pages_once):
    calls = []
    g.build_gallery(tmp_path, only="identity,relu", progress=lambda *a: calls.append(a))
    assert calls == [(1, 2, "identity"), (2, 2, "relu")]
    stream = io.StringIO()
    bar = g.ProgressLine(stream, width=10)
    bar(1, 4, "relu")
    bar.close()
    assert stream.getvalue().startswith("\r[##........] 1/4 relu")
    assert stream.getvalue().endswith("\r")


# -- the command line ---------------------------------------------------------------------


def test_cli_builds_and_prints_one_summary_line(cli, tmp_path, pages_once):
    result = cli("gallery", "--out", str(tmp_path / "out"), "--only", "identity,swish")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"gallery: 2 entries in {tmp_path / 'out'}: 8 files written")
    assert "no closed-form antiderivative for 1 (silu)" in line
    assert "FTC held for all 2 (symbolically for 1)" in line
    assert (tmp_path / "out" / "silu.md").is_file()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--only", "sigmod"], "unknown catalog entry 'sigmod'; did you mean 'sigmoid'?"),
        (["--only", "relu", "--jobs", "0"], "--jobs must be a whole number from 1 to 64"),
        (["--only", "relu", "--timeout", "0"], "--timeout must be a positive number"),
    ],
)
def test_cli_answers_bad_input_with_one_line_and_exit_2(cli, tmp_path, arguments, message):
    result = cli("gallery", "--out", str(tmp_path), *arguments)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"symcalc gallery: error: {message}")
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_a_foreign_file_and_force_replaces_it(cli, tmp_path, pages_once):
    (tmp_path / "identity.md").write_text("mine\n")
    refused = cli("gallery", "--out", str(tmp_path), "--only", "identity")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "identity.md' exists and was not written by symcalc gallery" in refused.stderr
    assert "pass --force to replace it" in refused.stderr  # the flag, not force=True
    assert (tmp_path / "identity.md").read_text() == "mine\n"
    forced = cli("gallery", "--out", str(tmp_path), "--only", "identity", "--force")
    assert forced.returncode == 0 and (tmp_path / "identity.md").read_text() != "mine\n"


def test_cli_exits_1_when_an_ftc_check_fails(monkeypatch, capsys, tmp_path):
    from symcalc import cli as command_line

    failed = g.GalleryBuild(
        folder=str(tmp_path),
        entries=("tanh",),
        written=(),
        unchanged=(),
        removed=(),
        kept=(),
        without_antiderivative=(),
        symbolic_checked=("tanh",),
        ftc_failures=("tanh",),
        errors=(),
        seconds=1.0,
    )
    monkeypatch.setattr(g, "build_gallery", lambda *a, **k: failed)
    assert command_line.main(["gallery", "--out", str(tmp_path)]) == 1
    assert "FTC check FAILED for tanh" in capsys.readouterr().out
    passed = dataclasses.replace(failed, ftc_failures=())
    monkeypatch.setattr(g, "build_gallery", lambda *a, **k: passed)
    assert command_line.main(["gallery", "--out", str(tmp_path)]) == 0


# -- the committed gallery ----------------------------------------------------------------


def committed_manifest() -> dict:
    return json.loads((COMMITTED / g.MANIFEST_NAME).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_catalog_entry_has_its_page_and_figures_committed(name):
    files = committed_manifest()["files"]
    for filename in g.entry_files(name):
        path = COMMITTED / filename
        assert path.is_file(), (
            f"{filename} is missing: rebuild with  symcalc gallery --out gallery/catalog"
        )
        assert files.get(filename) == sha256(path), (
            f"{filename} differs from what the gallery wrote: rebuild with  "
            "symcalc gallery --out gallery/catalog"
        )
    index = (COMMITTED / "README.md").read_text(encoding="utf-8")
    assert f"]({name}.md)" in index


def test_committed_gallery_has_nothing_else_and_a_valid_index():
    files = committed_manifest()["files"]
    on_disk = {p.name for p in COMMITTED.iterdir()} - {g.MANIFEST_NAME}
    assert on_disk == set(files)
    assert set(committed_manifest()["entries"]) == set(CATALOG)
    assert files["README.md"] == sha256(COMMITTED / "README.md")
    check_markdown((COMMITTED / "README.md").read_text(encoding="utf-8"), COMMITTED)


@pytest.fixture(scope="module")
def rebuilt():
    return {name: _page(name) for name in REBUILT}


@pytest.mark.parametrize("name", REBUILT)
def test_committed_page_is_what_a_fresh_build_writes(rebuilt, name):
    page = dict(rebuilt[name].files)
    markdown = page[f"{name}.md"].decode("utf-8")
    assert markdown == (COMMITTED / f"{name}.md").read_text(encoding="utf-8")
    check_markdown(markdown, COMMITTED)
    for filename in (f"{name}.png", f"{name}_ftc.png"):
        fresh, committed = decode(page[filename]), decode((COMMITTED / filename).read_bytes())
        assert fresh.shape == committed.shape, filename
        difference = np.abs(fresh - committed)
        # robust to another freetype: a few anti-aliased text pixels may differ
        assert difference.mean() < 0.01 and (difference > 0.25).mean() < 0.02, filename


def test_sympy_is_what_the_committed_pages_were_built_with():
    """The pages hold SymPy's LaTeX: a SymPy upgrade that changes it needs a rebuild."""
    assert committed_manifest()["entries"]["sigmoid"]["formula"] == sympy.latex(
        CATALOG["sigmoid"].expr
    )


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_committed_page_is_current(name):
    """Any change to derivations, integrals or printing shows here until the gallery is rebuilt
    (``symcalc gallery --out gallery/catalog``)."""
    page = _page(name, figures=name in REBUILT)  # REBUILT pages come with their figures
    filename, markdown = page.files[0]
    assert markdown.decode("utf-8") == (COMMITTED / filename).read_text(encoding="utf-8")

"""The gallery scripts: each is in the sphinx-gallery shape, uses the public API, runs from
another folder and writes the figures committed beside it; the gallery index shows them all.

(The catalog gallery that ``symcalc gallery`` builds is tested in test_gallery.py.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import re
import runpy
import shutil
import sys
import traceback
import warnings
from pathlib import Path

import pytest
from test_gallery import GALLERY, check_markdown, decode

SCRIPTS = sorted(GALLERY.glob("plot_*.py"))


def run_script(script: Path, folder: Path) -> tuple[int, str]:
    """Run a copy of ``script`` from another folder (so the committed figures stay).

    The run is a process of its own, forked from a process that has SymPy, NumPy and
    matplotlib imported: a fresh namespace and working folder, as ``python plot_NN.py``
    gives, without paying those imports again.  Returns the exit code and the traceback,
    if any.
    """
    copy = folder / "gallery" / script.name
    copy.parent.mkdir(parents=True)
    shutil.copy(script, copy)
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    # a process that runs JAX's or PyTorch's threads cannot be forked safely: then the
    # scripts are forked from a fresh process that never imports them (`_Zygote`)
    if any(name in sys.modules for name in ("jax", "torch")):
        return _zygote().run(str(copy), str(elsewhere))
    return _fork_and_run(str(copy), str(elsewhere))


def _fork_and_run(path: str, cwd: str) -> tuple[int, str]:
    """Run the script at ``path`` in a child forked from this process, in folder ``cwd``."""
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_script_child, args=(writer, path, cwd))
    with warnings.catch_warnings():  # Python 3.12+: fork() with threads alive (execnet's)
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        child.start()
    writer.close()
    error = reader.recv() if reader.poll(600) else "timed out after 600 s"
    child.join(60)
    if child.is_alive():  # pragma: no cover - a hung script
        child.kill()
        child.join()
    return child.exitcode, error


class _Zygote:
    """A fresh (spawned) process with symcalc, SymPy and matplotlib imported, and no
    threads, that forks one child per script: one import instead of one per script."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.connection, there = context.Pipe()
        self.process = context.Process(target=_zygote_loop, args=(there,))
        self.process.start()
        there.close()

    def run(self, path: str, cwd: str) -> tuple[int, str]:
        self.connection.send((path, cwd))
        if not self.connection.poll(700):  # pragma: no cover - a hung zygote
            return -1, "timed out after 700 s"
        return self.connection.recv()

    def close(self) -> None:
        self.connection.close()
        self.process.join(10)
        if self.process.is_alive():  # pragma: no cover
            self.process.kill()
            self.process.join()


_ZYGOTE: list[_Zygote] = []


def _zygote() -> _Zygote:
    if not _ZYGOTE:
        _ZYGOTE.append(_Zygote())
    return _ZYGOTE[0]


@pytest.fixture(scope="module", autouse=True)
def _close_zygote():
    yield
    while _ZYGOTE:
        _ZYGOTE.pop().close()


def _zygote_loop(connection) -> None:  # pragma: no cover - in the zygote
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - imported once here, not once per script
    import numpy  # noqa: F401
    import scipy  # noqa: F401
    import sympy  # noqa: F401
    from mathtext_cache import share_mathtext_layouts

    import symcalc.present.plotting  # noqa: F401

    share_mathtext_layouts()  # as conftest does in the test process
    while True:
        try:
            path, cwd = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(_fork_and_run(path, cwd))


def _script_child(writer, path: str, cwd: str) -> None:  # pragma: no cover - in the child
    threaded = sys.modules.get("dask.threaded")
    if threaded is not None:  # the parent's thread pools have no threads in a forked child
        threaded.default_pool = None
        threaded.pools.clear()
    os.chdir(cwd)
    sys.argv = [path]
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            runpy.run_path(path, run_name="__main__")
    except BaseException:  # noqa: BLE001 - reported to the parent as text
        writer.send(traceback.format_exc())
        sys.exit(1)
    writer.send("")


def test_the_scripts_are_the_expected_ones():
    assert [s.name for s in SCRIPTS if int(s.name[5:7]) < 50] == [
        "plot_01_function_and_derivative.py",
        "plot_02_derivation_steps.py",
        "plot_10_fundamental_theorem.py",
        "plot_11_riemann_convergence.py",
        "plot_20_stable_kernels.py",
        "plot_30_gradient_check.py",
    ]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_script_is_in_the_sphinx_gallery_shape_and_uses_the_public_api(script):
    source = script.read_text(encoding="utf-8")
    docstring = source.split('"""')[1].strip().splitlines()
    assert (
        len(docstring) > 3 and set(docstring[1]) == {"="} and len(docstring[1]) == len(docstring[0])
    ), "a titled docstring"
    assert source.count("# %%") >= 1
    assert "import symcalc" in source
    assert not re.search(r"symcalc(\.\w+)*\._\w", source), "private symcalc names"
    assert not re.search(r"from symcalc(\.\w+)* import [^\n]*\b_\w", source)
    assert "plt.show" not in source and "pyplot" not in source


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_script_runs_from_another_folder_and_writes_its_figures(tmp_path, script):
    folder = tmp_path
    code, error = run_script(script, folder)
    written = sorted(p.name for p in (folder / "gallery").glob("*.png"))
    committed = sorted(p.name for p in GALLERY.glob(f"{script.stem}*.png"))
    if script.name == "plot_51_descent_on_dask.py" and importlib.util.find_spec("dask") is None:
        # the optional extra is missing: the script must say so, and write nothing
        assert code != 0 and "No module named 'dask'" in error
        assert written == []
        return
    assert code == 0, error[-2000:]
    assert written == committed and written, f"{script.name} wrote {written}"
    for name in written:
        image = decode((folder / "gallery" / name).read_bytes())
        assert image.shape[0] > 200 and image.shape[1] > 200 and image[..., :3].std() > 0.05
    assert not list((folder / "elsewhere").iterdir()), "a script wrote into the working folder"


def test_gallery_index_shows_every_script_and_figure():
    index = (GALLERY / "README.md").read_text(encoding="utf-8")
    check_markdown(index, GALLERY)
    for script in SCRIPTS:
        assert f"[`{script.name}`]({script.name})" in index
        title = script.read_text(encoding="utf-8").split('"""')[1].strip().splitlines()[0]
        assert f"## {title}\n" in index, f"no section titled {title!r}"
    shown = set(re.findall(r'src="([^"]+\.png)"', index))
    assert shown <= {p.name for p in GALLERY.glob("*.png")}
    for script in SCRIPTS:
        assert any(name.startswith(script.stem) for name in shown), f"no thumbnail of {script}"
    assert "](catalog/README.md)" in index

"""The gallery's manifest and workers under stress: builds at the same time into one
folder, and a parallel build stopped in the middle.

Pages are quick stand-ins (`quick_pages`), so that what is tested is the bookkeeping:
which entries the manifest and index keep, which files are whole, which processes are
left.  The truth is the set of entries each build was asked for and the SHA-256 of
the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
import warnings
from pathlib import Path

import pytest

from symcalc.present import gallery as g

FIRST = ["relu", "sigmoid", "tanh", "elu"]
SECOND = ["huber", "hinge", "silu", "gelu"]


def _page(name: str) -> g.EntryPage:
    files = tuple((f, f"{f}: {name}\n".encode()) for f in g.entry_files(name))
    summary = {
        "kind": "activation",
        "description": name,
        "formula": "x",
        "call": "f(x)",
        "operator": "d",
        "derivative": "1",
        "identity": None,
        "antiderivative": True,
        "ftc": "held",
        "files": list(g.entry_files(name)),
    }
    return g.EntryPage(
        name=name,
        files=files,
        summary=summary,
        antiderivative_found=True,
        symbolic_held=True,
        numeric_held=True,
    )


@pytest.fixture
def quick_pages(monkeypatch):
    """Pages made in ``delay`` seconds instead of by deriving and drawing."""
    delays: dict[str, float] = {}

    def build_page(name, timeout=None, figures=True):
        time.sleep(delays.get(name, 0.05))
        return _page(name)

    monkeypatch.setattr(g, "build_page", build_page)
    return delays


def _build(folder: str, only: list[str], start) -> None:  # runs in a forked process
    start.wait()
    g.build_gallery(folder, only=only)


def _fork(target, *args):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        process = multiprocessing.get_context("fork").Process(target=target, args=args)
        process.start()
    return process


def _manifest(folder: Path) -> dict:
    return json.loads((folder / g.MANIFEST_NAME).read_text())


def test_two_builds_at_once_keep_each_others_entries(tmp_path, quick_pages):
    """Two builds with different ``only`` into one folder, interleaved page by page."""
    start = multiprocessing.get_context("fork").Event()
    builds = [_fork(_build, str(tmp_path), names, start) for names in (FIRST, SECOND)]
    start.set()
    for build in builds:
        build.join(timeout=30)
        assert build.exitcode == 0
    manifest = _manifest(tmp_path)
    assert set(manifest["entries"]) == set(FIRST + SECOND)
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    on_disk = {p.name for p in tmp_path.iterdir()} - {g.MANIFEST_NAME}
    assert on_disk == set(manifest["files"])
    index = (tmp_path / "README.md").read_text()
    assert all(f"]({name}.md)" in index for name in FIRST + SECOND)
    # a later build of one entry accepts the files of the other build as the gallery's own
    again = g.build_gallery(tmp_path, only="huber")
    assert again.held and "huber.md" in again.unchanged
    assert set(_manifest(tmp_path)["entries"]) == set(FIRST + SECOND)


def test_a_stopped_parallel_build_kills_its_workers_at_once(tmp_path, quick_pages):
    """Stopped after its first page (Ctrl-C in the progress callback): no waiting for the
    queue, no worker left, and what was written is whole and listed."""
    quick_pages.update({name: 60.0 for name in SECOND})
    before = set(multiprocessing.active_children())

    def interrupt(done, total, name):
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        g.build_gallery(tmp_path, only=["relu", *SECOND], jobs=2, progress=interrupt)
    assert time.monotonic() - started < 5
    assert set(multiprocessing.active_children()) - before == set()
    manifest = _manifest(tmp_path)
    assert set(manifest["entries"]) == {"relu"}
    for name in g.entry_files("relu"):
        digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert manifest["files"][name] == digest
    assert list(tmp_path.glob("*.tmp")) == []

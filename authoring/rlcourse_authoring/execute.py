"""Execute solution notebooks in place, so that their stored outputs are what nbval compares."""

from __future__ import annotations

from pathlib import Path

import nbformat


def execute_in_place(path: Path, timeout_s: float = 600) -> float:
    """Run every cell of ``path`` in a fresh kernel (cwd = the notebook's folder) and save it.

    Timing metadata is not recorded, so re-executing a deterministic notebook rewrites the same
    file. Returns the wall time in seconds.
    """
    import time

    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return elapsed

"""Executes one notebook top to bottom with a Jupyter kernel (nbclient).

Called by lib/jupyter/runner.ts; not meant to be run by hand, but it can be:

    .venv/bin/python lib/jupyter/run_notebook.py --notebook notebooks/01-images.ipynb \
        --out-ipynb out/notebooks/01-images.ipynb --out-html out/notebooks/01-images.html

It prints one JSON object per line on stdout (events: "start", "cell", "cell_done",
"error", "done") and nothing else there; logs go to stderr.

Beyond plain nbclient it:
- keeps reading IOPub for a short grace period after each cell's `status: idle`
  (the Deno kernel sometimes publishes idle a moment before a cell's last output,
  and nbclient stops reading at idle, losing that output);
- samples the resident memory of the kernel's process tree (/proc) and reports
  the peak;
- writes the executed notebook (also when a cell fails, up to that cell), an
  HTML export (nbconvert, "lab" template) and an HTML fragment without code
  inputs (nbconvert "basic" template) for the study report.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import traceback as tb
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree_rss(root_pid: int) -> int:
    """Resident bytes of root_pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            # the command name (field 2) may hold spaces; fields after ")" are fixed
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid = int(fields[1])
            pid = int(name)
            children.setdefault(ppid, []).append(pid)
            rss[pid] = int(fields[21]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class MemorySampler(threading.Thread):
    """Samples the RSS of the kernel's process tree every `interval` seconds."""

    def __init__(self, client: "RobustClient", interval: float = 0.2):
        super().__init__(daemon=True)
        self.client, self.interval = client, interval
        self.peak = 0
        self.pid = None
        self.stop = threading.Event()

    def run(self) -> None:
        if not os.path.isdir("/proc"):
            return
        while not self.stop.is_set():
            if self.pid is None:
                km = getattr(self.client, "km", None)
                prov = getattr(km, "provisioner", None) if km is not None else None
                proc = getattr(prov, "process", None) if prov is not None else None
                self.pid = getattr(proc, "pid", None)
            if self.pid is not None:
                try:
                    self.peak = max(self.peak, tree_rss(self.pid))
                except Exception:  # a sampling hiccup must never fail the run
                    pass
            self.stop.wait(self.interval)


class RobustClient(NotebookClient):
    """nbclient that does not lose outputs published just after `status: idle`."""

    def __init__(self, nb, grace_ms: int = 250, **kw):
        super().__init__(nb, **kw)
        self.grace = grace_ms / 1000.0
        self.late_outputs = 0

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        if self.grace <= 0:
            return
        # Idle was seen: read on until the channel has been quiet for `grace`
        # seconds (capped), keeping anything that belongs to this cell.
        deadline = time.monotonic() + self.grace
        hard_stop = time.monotonic() + max(2.0, 8 * self.grace)
        while True:
            remaining = min(deadline, hard_stop) - time.monotonic()
            if remaining <= 0:
                return
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
            except Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            if msg["msg_type"] == "status":
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
            self.late_outputs += 1
            deadline = time.monotonic() + self.grace


def excerpt(source: str, limit: int = 12) -> str:
    lines = source.splitlines()
    return "\n".join(lines[:limit] + (["..."] if len(lines) > limit else []))


def export_html(nb, path: str, template: str, exclude_input: bool) -> None:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=template)
    exporter.exclude_input = exclude_input
    exporter.exclude_input_prompt = exclude_input
    exporter.exclude_output_prompt = exclude_input
    body, _ = exporter.from_notebook_node(nb)
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebook", required=True)
    ap.add_argument("--out-ipynb", required=True)
    ap.add_argument("--out-html", help="full HTML export (nbconvert lab template)")
    ap.add_argument("--out-fragment", help="HTML body without code inputs, for the report")
    ap.add_argument("--cwd", help="kernel working directory (default: the notebook's folder)")
    ap.add_argument("--timeout", type=float, default=1800, help="per-cell timeout, seconds")
    ap.add_argument("--startup-timeout", type=float, default=120)
    ap.add_argument("--grace-ms", type=int, default=250)
    ap.add_argument("--kernel", default=None, help="kernel name (default: the notebook's)")
    a = ap.parse_args()

    nb = nbformat.read(a.notebook, as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    kernel = a.kernel or nb.metadata.get("kernelspec", {}).get("name") or "deno"
    client = RobustClient(
        nb,
        grace_ms=a.grace_ms,
        timeout=int(a.timeout),
        startup_timeout=int(a.startup_timeout),
        kernel_name=kernel,
        resources={"metadata": {"path": a.cwd or os.path.dirname(os.path.abspath(a.notebook))}},
        record_timing=True,
    )
    starts: dict[int, float] = {}
    errors: list[dict] = []

    def on_execute(cell, cell_index, **_):
        starts[cell_index] = time.monotonic()
        emit({"event": "cell", "index": cell_index, "k": code_cells.index(cell_index) + 1,
              "n": len(code_cells)})

    def on_executed(cell, cell_index, execute_reply=None, **_):
        emit({"event": "cell_done", "index": cell_index,
              "seconds": round(time.monotonic() - starts.get(cell_index, time.monotonic()), 3)})

    def on_error(cell, cell_index, execute_reply=None, **_):
        content = (execute_reply or {}).get("content", {})
        errors.append({"index": cell_index, "ename": content.get("ename", ""),
                       "evalue": content.get("evalue", ""),
                       "traceback": content.get("traceback", []),
                       "source": excerpt(cell.source)})

    client.on_cell_execute = on_execute
    client.on_cell_executed = on_executed
    client.on_cell_error = on_error

    sampler = MemorySampler(client)
    sampler.start()
    t0 = time.monotonic()
    emit({"event": "start", "cells": len(nb.cells), "code_cells": len(code_cells), "kernel": kernel})
    ok = True
    try:
        client.execute()
    except CellTimeoutError as e:
        ok = False
        idx = max(starts) if starts else None
        errors.append({"index": idx, "ename": "CellTimeoutError",
                       "evalue": f"cell ran longer than {a.timeout:g} s",
                       "traceback": [str(e)],
                       "source": excerpt(nb.cells[idx].source) if idx is not None else ""})
    except CellExecutionError as e:
        ok = False
        if not errors:  # the hook did not see it (should not happen)
            idx = max(starts) if starts else None
            errors.append({"index": idx, "ename": e.ename, "evalue": e.evalue,
                           "traceback": [e.traceback], "source": ""})
    except DeadKernelError as e:
        ok = False
        idx = max(starts) if starts else None
        errors.append({"index": idx, "ename": "DeadKernelError",
                       "evalue": f"the kernel died ({e})", "traceback": [],
                       "source": excerpt(nb.cells[idx].source) if idx is not None else ""})
    except Exception as e:  # kernel did not start, etc.
        ok = False
        errors.append({"index": None, "ename": type(e).__name__, "evalue": str(e),
                       "traceback": tb.format_exc().splitlines(), "source": ""})
    finally:
        sampler.stop.set()
        sampler.join(timeout=2)
    seconds = time.monotonic() - t0

    os.makedirs(os.path.dirname(os.path.abspath(a.out_ipynb)), exist_ok=True)
    nbformat.write(nb, a.out_ipynb)
    if a.out_html:
        export_html(nb, a.out_html, "lab", exclude_input=False)
    if a.out_fragment:
        export_html(nb, a.out_fragment, "basic", exclude_input=True)
    for e in errors:
        emit({"event": "error", **e})
    emit({"event": "done", "ok": ok and not errors, "seconds": round(seconds, 3),
          "peak_rss": sampler.peak, "late_outputs": client.late_outputs,
          "executed_cells": len(starts)})
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())

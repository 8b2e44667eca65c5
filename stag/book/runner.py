"""Execute the book's notebooks with papermill, in ``_toc.yml`` order.

Each notebook ``notebooks/NN_name.ipynb`` that ``_toc.yml`` lists as
``book/executed/NN_name`` is executed into a temporary file next to its destination and
renamed into place only when it succeeds, so a failed rerun never destroys the last good
copy. A failure keeps the partial notebook as ``NN_name.failed.ipynb`` and names the cell.
Every run appends what it did (parameters, wall time, device, status) to ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from stag.book.profiles import profile_parameters
from stag.files import atomic_write_text
from stag.threads import environment, wait_env

EXECUTED_DIR = Path("book") / "executed"
NOTEBOOK_DIR = Path("notebooks")


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the failing cell."""

    def __init__(self, message: str, record: "NotebookRun | None" = None):
        super().__init__(message)
        self.record = record


@dataclass
class NotebookRun:
    notebook: str
    parameters: dict
    status: str = "pending"
    wall_time_s: float = 0.0
    started: str = ""
    error: str = ""
    failed_cell: int | None = None


@dataclass
class BookRun:
    profile: str
    device: str
    notebooks: list[NotebookRun] = field(default_factory=list)


def toc_notebooks(root: Path) -> list[str]:
    """Stems of the executed notebooks listed in ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            if "root" in node:
                files.append(str(node["root"]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    prefix = EXECUTED_DIR.as_posix() + "/"
    return [f[len(prefix):] for f in files if f.startswith(prefix)]


def declared_parameters(notebook: Path) -> dict[str, dict]:
    """The notebook's papermill parameters: name -> {default, inferred_type_name}."""
    # lazy: papermill is slow to import (python -X importtime); only this function needs it
    import papermill

    return {name: dict(info) for name, info in papermill.inspect_notebook(str(notebook)).items()}


def effective_parameters(notebook: Path, injected: dict) -> dict:
    """The values the notebook ran with: its declared defaults, overridden by ``injected``."""
    values = {}
    for name, info in declared_parameters(notebook).items():
        try:
            values[name] = yaml.safe_load(str(info.get("default")))
        except yaml.YAMLError:
            values[name] = info.get("default")
    return {**values, **injected}


def _coerce(name: str, value: object, declared: dict, where: str) -> object:
    """Check an override against the type of the notebook's default; raise a clear error."""
    default_src = declared.get("default", "None")
    try:
        default = yaml.safe_load(str(default_src))
    except yaml.YAMLError:
        return value
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        value = str(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list)
        if not ok and isinstance(value, (str, int, float)):
            value, ok = [value], True
    else:
        ok = True
    if not ok:
        raise ValueError(
            f"parameter {name}={value!r} for {where}: expected {type(default).__name__} "
            f"like the notebook's default {default_src}"
        )
    return value


def resolve_parameters(root: Path, stems: list[str], overrides: dict[str, object]) -> dict[str, dict]:
    """Per-notebook parameters: each override goes to the notebooks that declare it.

    Raises:
        ValueError: an override no notebook declares, or a value of the wrong type.
    """
    per_notebook: dict[str, dict] = {}
    used: set[str] = set()
    all_names: set[str] = set()
    for stem in stems:
        declared = declared_parameters(root / NOTEBOOK_DIR / f"{stem}.ipynb")
        all_names |= set(declared)
        params = {}
        for name, value in overrides.items():
            if name in declared:
                params[name] = _coerce(name, value, declared[name], f"notebooks/{stem}.ipynb")
                used.add(name)
        per_notebook[stem] = params
    unknown = sorted(set(overrides) - used)
    if unknown:
        raise ValueError(
            f"parameter(s) {unknown} are declared by none of the notebooks run; "
            f"known parameters: {', '.join(sorted(all_names))}"
        )
    return per_notebook


def source_digest(path: Path) -> str:
    """``sha256:<hex>`` of a notebook file's bytes (what an executed copy was made from)."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def finish_executed(path: Path, source: Path, parameters: dict) -> None:
    """Prepare an executed copy for the book and record what it was made from.

    Tags the ``parameters`` cell and the cell papermill injects (``injected-parameters``)
    ``remove-cell``: the rendered page opens with its one folded plumbing cell and then its first
    result (the values a chapter ran with are listed on the execution-report page and in
    ``run.json``; the notebook sources keep their cells). Records ``metadata.stag``: the source's
    digest and the injected parameters, so a test can tell that the book executed the current
    source with its own defaults, as ``pytest --nbmake`` would (:func:`executed_like_nbmake`).
    """
    # lazy: nbformat is slow to import (python -X importtime); only this function needs it
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if ({"parameters", "injected-parameters"} & set(tags)) and "remove-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "remove-cell"]
    nb.metadata["stag"] = {"source": f"{NOTEBOOK_DIR.as_posix()}/{Path(source).name}",
                           "source_sha256": source_digest(source), "injected_parameters": parameters}
    nbformat.write(nb, path)


def executed_like_nbmake(root: Path, stem: str) -> list[str]:
    """Why ``book/executed/<stem>.ipynb`` is not what ``pytest --nbmake notebooks/<stem>.ipynb``
    would have run (empty when it is): missing; made from another version of the source;
    run with parameters other than the notebook's own defaults (``device="auto"`` is the
    default); a code cell that did not run; or a cell that raised."""
    # lazy: nbformat is slow to import (python -X importtime); only this function needs it
    import nbformat

    path, src = root / EXECUTED_DIR / f"{stem}.ipynb", root / NOTEBOOK_DIR / f"{stem}.ipynb"
    if not path.exists():
        return [f"{path.relative_to(root)} is missing"]
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("stag") or {}
    problems = []
    if meta.get("source_sha256") != source_digest(src):
        problems.append(f"{stem}: executed from another version of {src.relative_to(root)}")
    defaults = effective_parameters(src, {})
    changed = {k: v for k, v in (meta.get("injected_parameters") or {}).items() if defaults.get(k) != v}
    if changed:
        problems.append(f"{stem}: executed with parameters other than its defaults: {changed}")
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"{stem}: cell {i} was not executed")
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            problems.append(f"{stem}: cell {i} raised")
    return problems


def execute_notebook(root: Path, stem: str, parameters: dict) -> NotebookRun:
    """Run one notebook with papermill; raise :class:`NotebookFailed` naming the cell."""
    # lazy: papermill is slow to import (python -X importtime); only this function needs it
    import papermill
    from papermill.exceptions import PapermillExecutionError

    src = root / NOTEBOOK_DIR / f"{stem}.ipynb"
    if not src.exists():
        raise FileNotFoundError(f"_toc.yml lists book/executed/{stem} but {src} does not exist")
    out_dir = root / EXECUTED_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{stem}.ipynb"
    running = out_dir / f".{stem}.running.ipynb"
    failed = out_dir / f"{stem}.failed.ipynb"
    record = NotebookRun(notebook=f"notebooks/{stem}.ipynb",
                         parameters=effective_parameters(src, parameters),
                         started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    start = time.perf_counter()
    try:
        # The kernel inherits this environment: its idle OpenMP threads sleep instead of
        # spinning against another job's (stag.threads).
        with environment(wait_env()):
            papermill.execute_notebook(
                str(src), str(running), parameters=parameters, cwd=str(root / NOTEBOOK_DIR),
                kernel_name="python3", progress_bar=False, log_output=False,
            )
    except PapermillExecutionError as exc:
        record.wall_time_s = time.perf_counter() - start
        record.status = "failed"
        record.failed_cell = exc.exec_count
        record.error = f"{exc.ename}: {exc.evalue}"
        running.replace(failed)
        raise NotebookFailed(
            f"notebooks/{stem}.ipynb failed in cell [{exc.exec_count}] with {exc.ename}: {exc.evalue}\n"
            f"The partially executed notebook is kept at {failed.relative_to(root)}; "
            f"the last good copy (if any) at {final.relative_to(root)} is untouched.",
            record,
        ) from None
    except BaseException:
        if running.exists():
            running.replace(failed)
        raise
    record.wall_time_s = time.perf_counter() - start
    record.status = "ok"
    finish_executed(running, src, parameters)
    running.replace(final)
    if failed.exists():
        failed.unlink()
    return record


def plan_parameters(root: Path, *, profile: str = "quick", overrides: dict | None = None,
                    only: list[str] | None = None, device: str = "auto") -> dict[str, dict]:
    """Notebooks to run (toc order) and the parameters each receives; executes nothing.

    Profile values and the device go only to notebooks that declare them; an explicit
    override must be declared by at least one notebook. Raises ``ValueError`` otherwise, or
    for an unknown ``only`` number or a value of the wrong type.
    """
    stems = toc_notebooks(root)
    if only:
        wanted = [o.zfill(2) for o in only]
        chosen = [s for s in stems if s.split("_", 1)[0] in wanted]
        missing = sorted(set(wanted) - {s.split("_", 1)[0] for s in chosen})
        if missing:
            raise ValueError(f"--only {missing}: no notebook with that number in _toc.yml "
                             f"(have: {', '.join(s.split('_', 1)[0] for s in stems)})")
        stems = chosen
    values = {**profile_parameters(profile), "device": device, **(overrides or {})}
    params = resolve_parameters(root, stems, dict(overrides or {}))
    for stem in stems:
        declared = declared_parameters(root / NOTEBOOK_DIR / f"{stem}.ipynb")
        for name, value in values.items():
            if name in declared and name not in params[stem]:
                params[stem][name] = _coerce(name, value, declared[name], f"notebooks/{stem}.ipynb")
    return params


def execute_book(root: Path, *, profile: str = "quick", overrides: dict | None = None,
                 only: list[str] | None = None, device: str = "auto", log=print) -> BookRun:
    """Execute the notebooks of ``_toc.yml`` (or those whose number is in ``only``)."""
    params = plan_parameters(root, profile=profile, overrides=overrides, only=only, device=device)
    stems = list(params)
    run = BookRun(profile=profile, device=device)
    total = time.perf_counter()
    for i, stem in enumerate(stems, 1):
        log(f"[{i}/{len(stems)}] {stem} ...", flush=True)
        try:
            record = execute_notebook(root, stem, params[stem])
        except NotebookFailed as exc:
            run.notebooks.append(exc.record)
            _write_run(root, run)
            raise
        run.notebooks.append(record)
        log(f"[{i}/{len(stems)}] {stem} ok in {record.wall_time_s:.1f} s", flush=True)
        _write_run(root, run)
    log(f"executed {len(stems)} notebook(s) in {time.perf_counter() - total:.1f} s", flush=True)
    return run


def _write_run(root: Path, run: BookRun) -> None:
    """Merge this run's records into ``book/executed/run.json`` (one entry per notebook)."""
    path = root / EXECUTED_DIR / "run.json"
    previous = json.loads(path.read_text()) if path.exists() else {"notebooks": {}}
    for nb in run.notebooks:
        previous["notebooks"][nb.notebook] = {**asdict(nb), "profile": run.profile, "device": run.device}
    atomic_write_text(path, json.dumps(previous, indent=2, default=str))


def check_executed(root: Path) -> None:
    """Every executed notebook of ``_toc.yml`` exists and all its code cells ran.

    Raises:
        RuntimeError: listing each notebook that is missing or has an unexecuted code cell
            (by cell number), since the build itself never executes anything.
    """
    # lazy: nbformat is slow to import (python -X importtime); only this function needs it
    import nbformat

    problems = []
    for stem in toc_notebooks(root):
        path = root / EXECUTED_DIR / f"{stem}.ipynb"
        if not path.exists():
            problems.append(f"{path.relative_to(root)}: missing (run `stag book --only {stem.split('_', 1)[0]}`)")
            continue
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells, 1):
            if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None:
                problems.append(f"{path.relative_to(root)}: cell {i} was not executed")
    if problems:
        raise RuntimeError("unexecuted notebooks in the book:\n" + "\n".join(problems))


def build_html(root: Path, log=print) -> Path:
    """Render the executed notebooks with Jupyter Book (no execution, warnings are errors).

    The build keeps going after the first warning so that every problem is listed; on failure
    the raised error repeats each warning line, which names the page.
    """
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root), "--builder", "html",
           "-W", "-n", "--keep-going"]
    log("$ jupyter-book " + " ".join(cmd[1:]), flush=True)
    problems: list[str] = []
    with subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log(line.rstrip("\n"), flush=True)
            if "WARNING" in line or "ERROR" in line:
                problems.append(line.strip())
    if proc.returncode != 0:
        listed = "\n".join(problems) or "(no warning lines captured; see the log above)"
        raise RuntimeError(f"jupyter-book build failed (exit code {proc.returncode}):\n{listed}")
    index = root / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError(f"jupyter-book build succeeded but {index} is missing")
    return index

"""The kernel a graded submission runs in: ipykernel, plus a guard the grader calls before tests.

``python -m rlcourse_grading.kernel -f CONNECTION_FILE`` starts an ordinary IPython
kernel, but before the first cell of the submission arrives it imports the modules the course
notebook uses (``RLCOURSE_GRADE_PRELOAD``: numpy, torch, the course's package and checks) and
photographs the state every test relies on (:class:`Guard`). The grader then sends, before
each test cell, an execute request whose code is :data:`GUARD_CODE`; :class:`GuardedKernel`
answers it *without* passing it through IPython (so input transformers, AST transformers and
``pre_run_cell`` hooks of the student's never see it) and puts back:

- every attribute of those modules, the code of their functions and the attributes of their
  classes (``np.allclose = ...``, ``start_here.check_total_reward = ...``, ``f.__code__ = ...``,
  ``torch.Tensor.allclose = ...``), and their ``sys.modules`` entries; course modules first
  imported since are dropped, to be imported again from the read-only package;
- ``builtins`` (``print``, ``__import__``, ``isinstance``...), ``sys.path``/``meta_path``/
  ``path_hooks``, ``sys.stdout``/``stderr``/``displayhook``/``excepthook``, trace and profile
  functions and the working folder;
- IPython's custom exception handlers, input transformers (cleanup, line, token, post), AST
  transformers, event callbacks, the traceback formatters and any method of the shell or the
  kernel replaced on the instance or the class.

It answers with what it had to put back; the grader notes that in the report.

What this cannot stop: code that replaces the guard itself (this module's classes) before the
guard runs, writes to memory with ``ctypes``, or keeps a thread running that changes things
again between the guard and the check. ``python -m rlcourse_grading grade`` flags answers that use such
means for review (see ``screen.py``); the sandbox keeps them inside the submission's own kernel.
"""

from __future__ import annotations

import json
import linecache
import os
import sys
import threading
from typing import Any

GUARD_CODE = "%rlcourse_grade_guard"  # not Python: nothing else would run it by accident
FORGET_CODE = "%rlcourse_grade_forget"  # after a hidden test: drop what it left in memory
PRELOAD_ENV = "RLCOURSE_GRADE_PRELOAD"
# The folder of the course's helper files (filled only while a hidden block runs): first on
# sys.path, so that no file of the student's working folder can stand in for one of them.
SUPPORT_ENV = "RLCOURSE_GRADE_SUPPORT"
WATCHED_PREFIXES = ("builtins", "math", "operator", "copy", "functools", "numpy", "torch",
                    "rlcourse", "IPython", "ipykernel", "traitlets", "unittest")
_SYS = ("stdout", "stderr", "stdin", "displayhook", "excepthook", "breakpointhook",
        "unraisablehook")
_SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
_MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
_SHELL_OBJECTS = ("input_transformer_manager", "custom_exceptions", "CustomTB", "InteractiveTB",
                  "SyntaxTB", "compile", "events", "displayhook", "display_pub", "display_trap",
                  "builtin_trap", "user_ns", "user_global_ns", "history_manager")


def _watched(name: str) -> bool:
    # Not a library's private modules (torch._weights_only_unpickler, say): their state is the
    # library's own bookkeeping, changed by honest calls; what they define that answers are
    # checked with is reached through the public modules anyway.
    parts = name.split(".")
    return (any(name == p or name.startswith(p + ".") for p in WATCHED_PREFIXES)
            and not any(part.startswith("_") for part in parts[1:]))


class Guard:
    """The kernel's state before any student code ran, and how to get back to it."""

    def __init__(self, kernel: Any):
        from rlcourse.checks import integrity

        self.kernel = kernel
        self.shell = kernel.shell
        self.support = os.environ.get(SUPPORT_ENV, "")
        names = [n for n in list(sys.modules) if _watched(n)]
        self.snapshot = integrity.Snapshot.take(names)
        self.sys = {k: getattr(sys, k, None) for k in _SYS}
        self.sys_lists = {k: list(getattr(sys, k)) for k in ("path", "meta_path", "path_hooks")}
        self.cwd = os.getcwd()
        shell = self.shell
        self.shell_lists = {k: list(getattr(shell, k, [])) for k in _SHELL_LISTS}
        manager = shell.input_transformer_manager
        self.manager_lists = {k: list(getattr(manager, k, [])) for k in _MANAGER_LISTS}
        self.shell_objects = {k: getattr(shell, k, None) for k in _SHELL_OBJECTS}
        self.events = {k: list(v) for k, v in shell.events.callbacks.items()}
        self.shell_dict = set(vars(shell))
        self.kernel_dict = set(vars(kernel))
        self.handlers = {k: dict(getattr(kernel, k, {}) or {})
                         for k in ("shell_handlers", "control_handlers")}
        self.threads = {t.ident for t in threading.enumerate()}
        self.lines = set(linecache.cache)

    def restore(self) -> dict[str, Any]:
        """Put everything back; what had changed, for the report."""
        found = self.snapshot.restore()
        for name in [n for n in list(sys.modules) if n.startswith("rlcourse")
                     and n not in self.snapshot.modules and not n.startswith("rlcourse.notebook")]:
            del sys.modules[name]  # imported since: imported again, from the read-only package
        for key, value in self.sys.items():
            if getattr(sys, key, None) is not value:
                found.append(f"sys.{key}")
                setattr(sys, key, value)
        for key, value in self.sys_lists.items():
            current = getattr(sys, key)
            if current != value:
                found.append(f"sys.{key}")
                current[:] = value
        sys.path_importer_cache.clear()
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("sys.settrace/sys.setprofile")
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)  # type: ignore[arg-type]
        threading.setprofile(None)  # type: ignore[arg-type]
        if os.getcwd() != self.cwd:
            os.chdir(self.cwd)
        found += self._restore_ipython()
        extra = [t.name for t in threading.enumerate() if t.ident not in self.threads
                 and t.is_alive() and not t.daemon]
        return {"restored": found, "threads": extra}

    def _restore_ipython(self) -> list[str]:
        found = []
        shell, kernel = self.shell, self.kernel
        for key, value in self.shell_objects.items():
            if getattr(shell, key, None) is not value:
                found.append(f"IPython shell.{key}")
                try:
                    setattr(shell, key, value)
                except Exception:
                    pass
        for key, value in self.shell_lists.items():
            current = getattr(shell, key, None)
            if list(current or []) != value:
                found.append(f"IPython shell.{key}")
                try:
                    current[:] = value
                except TypeError:
                    setattr(shell, key, list(value))
        manager = shell.input_transformer_manager
        for key, value in self.manager_lists.items():
            current = getattr(manager, key, None)
            if current is not None and list(current) != value:
                found.append(f"IPython input_transformer_manager.{key}")
                current[:] = value
        callbacks = shell.events.callbacks
        for key in list(callbacks):
            before = self.events.get(key, [])
            # matplotlib registers its own (flushing figures after a cell): those stay
            keep = [cb for cb in callbacks[key] if cb in before or _library_callback(cb)]
            if keep != callbacks[key]:
                found.append(f"IPython events[{key!r}]")
                callbacks[key][:] = keep
        for obj, before, label in ((shell, self.shell_dict, "IPython shell"),
                                   (kernel, self.kernel_dict, "kernel")):
            for key in set(vars(obj)) - before:
                # a method of the class replaced on the instance (not ipykernel's own
                # bookkeeping, such as the `_save_getpass` it sets during every request)
                if callable(vars(obj)[key]) and hasattr(type(obj), key):
                    found.append(f"{label}.{key}")
                    delattr(obj, key)
        for key, value in self.handlers.items():
            current = getattr(kernel, key, None)
            if isinstance(current, dict) and current != value:
                found.append(f"kernel.{key}")
                current.clear()
                current.update(value)
        return found

    def forget(self) -> None:
        """After a hidden test: drop modules it imported from the working folder or the helper
        files' folder and the source of the cells it ran, so that later student code cannot
        read them back."""
        folders = [os.path.realpath(self.cwd)] + ([os.path.realpath(self.support)]
                                                   if self.support else [])
        for name, module in list(sys.modules.items()):
            path = os.path.realpath(getattr(module, "__file__", None) or "/")
            if any(path.startswith(folder + os.sep) for folder in folders):
                del sys.modules[name]
        for key in set(linecache.cache) - self.lines:
            linecache.cache.pop(key, None)
        cache = getattr(self.shell.compile, "_filename_map", None)
        if isinstance(cache, dict):
            cache.clear()


_LIBRARIES = ("matplotlib", "matplotlib_inline", "IPython", "ipykernel", "ipywidgets")


def _library_callback(callback: Any) -> bool:
    """A callback written in one of the libraries a notebook uses (by its code's file)."""
    fn = getattr(callback, "__func__", callback)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    where = os.path.realpath(code.co_filename)
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        for root in getattr(module, "__path__", []) or []:
            if where.startswith(os.path.realpath(root) + os.sep):
                return True
    return False


def _make_kernel_class():
    from ipykernel.ipkernel import IPythonKernel

    class GuardedKernel(IPythonKernel):
        """IPythonKernel that answers :data:`GUARD_CODE` itself, outside IPython's pipeline."""

        guard: Guard | None = None

        async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                             allow_stdin=False, *, cell_meta=None, cell_id=None):
            if code.strip() in (GUARD_CODE, FORGET_CODE) and self.guard is not None:
                if code.strip() == GUARD_CODE:
                    report = self.guard.restore()
                else:
                    self.guard.forget()
                    report = {}
                return {"status": "ok", "execution_count": self.execution_count,
                        "payload": [], "user_expressions": {"rlcourse_guard": {
                            "status": "ok", "metadata": {},
                            "data": {"text/plain": json.dumps(report)}}}}
            return await super().do_execute(
                code, silent, store_history=store_history, user_expressions=user_expressions,
                allow_stdin=allow_stdin, cell_meta=cell_meta, cell_id=cell_id)

    return GuardedKernel


def _no_debugger() -> None:
    """A ``pdb.set_trace()`` left in an answer does nothing here (no one is there to type),
    as ``PYTHONBREAKPOINT=0`` does for ``breakpoint()``."""
    import pdb

    def set_trace(*args: Any, **kwargs: Any) -> None:
        return None

    pdb.set_trace = set_trace
    pdb.Pdb.set_trace = set_trace  # type: ignore[method-assign]
    try:
        from IPython.core import debugger
    except ImportError:
        return
    debugger.set_trace = set_trace
    debugger.Pdb.set_trace = set_trace  # type: ignore[method-assign]


def _warm_up_torch() -> None:
    """torch replaces an optimiser class's ``step`` (a profiling wrapper) the first time one is
    made: done here, before the guard's photograph, so that an honest ``SGD(...)`` in a cell is
    not a change the guard puts back and reports."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    param = [torch.zeros(1, requires_grad=True)]
    for name in dir(torch.optim):
        cls = getattr(torch.optim, name)
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and \
                cls is not torch.optim.Optimizer:
            try:
                cls(param)
            except Exception:  # one that needs arguments: its step is patched when it is made
                pass


def main(argv: list[str] | None = None) -> None:
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(kernel_class=_make_kernel_class())
    app.initialize(argv if argv is not None else sys.argv[1:])
    for name in filter(None, os.environ.pop(PRELOAD_ENV, "").split(",")):
        try:
            __import__(name)
        except Exception:  # the notebook will meet the same error itself, in words
            pass
    import rlcourse.checks.feedback  # noqa: F401  (installs the checks' exception display)

    if os.environ.get(SUPPORT_ENV):
        sys.path.insert(0, os.environ[SUPPORT_ENV])  # the guard puts it back before each test
    _no_debugger()
    _warm_up_torch()

    app.kernel.guard = Guard(app.kernel)
    app.start()


if __name__ == "__main__":
    main()

"""What a check relies on, photographed and compared: modules, functions, classes.

A check compares a student's result with ``np.allclose``, builds its expected values with the
package's own functions and decides with its own code. Code in an answer cell runs in the same
Python process, so it can replace any of these (``np.allclose = lambda *a, **k: True``,
``start_here.check_total_reward = ...``, ``f.__code__ = g.__code__``). A :class:`Snapshot`
records, for a set of modules, every attribute of the module, the code/defaults of every Python
function in it and the attributes of every class defined in it; :meth:`Snapshot.changes` names
what differs now and :meth:`Snapshot.restore` puts it back, in place (the objects keep their
identity, so instances made earlier still pass ``isinstance``).

Used twice: :class:`rlcourse.checks.feedback.Exercise` photographs before it calls student code
and refuses a result obtained while something changed; ``python -m rlcourse_grading grade`` photographs
in the kernel before any student code runs and restores before every test cell.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes whose attributes can be set
# Names IPython and Python rebind on their own (the last result `_`, the interpreter's copyright).
_VOLATILE = frozenset({"_", "__", "___", "_i", "_ii", "_iii", "_oh", "_dh", "_ih", "In", "Out",
                       "__warningregistry__", "__loader__", "__spec__", "__cached__"})
# Attributes of a function that decide what calling it does.
_FUNCTION_PARTS = ("__code__", "__defaults__", "__kwdefaults__")


def _function_state(fn: types.FunctionType) -> tuple:
    return tuple(getattr(fn, part) for part in _FUNCTION_PARTS)


def _set_function_state(fn: types.FunctionType, state: tuple) -> None:
    for part, value in zip(_FUNCTION_PARTS, state):
        try:
            setattr(fn, part, value)
        except (TypeError, ValueError, AttributeError):  # a __code__ with other free variables
            pass


@dataclass
class Snapshot:
    """Module attributes, function code and class attributes of ``modules``, as they are now."""

    modules: dict[str, Any] = field(default_factory=dict)  # name -> module object
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[int, tuple[types.FunctionType, tuple, str]] = field(default_factory=dict)
    classes: dict[int, tuple[type, dict[str, Any], str]] = field(default_factory=dict)

    @classmethod
    def take(cls, names: Iterable[str]) -> Snapshot:
        snap = cls()
        for name in names:
            module = sys.modules.get(name)
            if isinstance(module, types.ModuleType):
                snap._add_module(name, module)
        return snap

    def _add_module(self, name: str, module: types.ModuleType) -> None:
        try:
            attributes = dict(vars(module))
        except TypeError:
            return
        if name != "builtins" and not name.startswith("rlcourse"):
            # a library's private bookkeeping (torch.autograd.profiler._cupti_monitor_module,
            # set by an honest optimiser step) is the library's to change
            attributes = {k: v for k, v in attributes.items()
                          if not (k.startswith("_") and not k.startswith("__"))}
        self.modules[name] = module
        self.attributes[name] = attributes
        for key, value in attributes.items():
            if isinstance(value, types.FunctionType):
                self.functions.setdefault(id(value), (value, _function_state(value),
                                                      f"{name}.{key}"))
            elif isinstance(value, type) and getattr(value, "__module__", None) == name:
                self._add_class(value, f"{name}.{key}")

    def _add_class(self, klass: type, label: str) -> None:
        if id(klass) in self.classes or not klass.__flags__ & _HEAPTYPE:
            return  # seen, or a static C type (its attributes cannot be set)
        try:
            attributes = dict(vars(klass))
        except TypeError:
            return
        self.classes[id(klass)] = (klass, attributes, label)
        for key, value in attributes.items():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, types.FunctionType):
                self.functions.setdefault(id(value), (value, _function_state(value),
                                                      f"{label}.{key}"))

    def changes(self) -> list[str]:
        """What differs from the snapshot, as dotted names (``numpy.allclose``)."""
        found = []
        for name, module in self.modules.items():
            if sys.modules.get(name, module) is not module:
                found.append(f"sys.modules[{name!r}]")
            now = vars(module)
            for key, value in self.attributes[name].items():
                if key not in _VOLATILE and now.get(key, _MISSING) is not value:
                    found.append(f"{name}.{key}")
        for fn, state, label in self.functions.values():
            if _function_state(fn) != state:
                found.append(f"{label} (its code)")
        for klass, attributes, label in self.classes.values():
            found.extend(f"{label}.{key}" for key in _class_changes(klass, attributes))
        return found

    def restore(self) -> list[str]:
        """Put back everything that changed; returns :meth:`changes` from before."""
        found = self.changes()
        if not found:
            return found
        for name, module in self.modules.items():
            if sys.modules.get(name, module) is not module:
                sys.modules[name] = module
            now = vars(module)
            for key, value in self.attributes[name].items():
                if key not in _VOLATILE and now.get(key, _MISSING) is not value:
                    setattr(module, key, value)
        for fn, state, _ in self.functions.values():
            if _function_state(fn) != state:
                _set_function_state(fn, state)
        for klass, attributes, _ in self.classes.values():
            for key in _class_changes(klass, attributes):
                try:
                    if key in attributes:
                        setattr(klass, key, attributes[key])
                    else:
                        delattr(klass, key)
                except (TypeError, AttributeError):
                    pass
        return found


_CLASS_SKIP = frozenset({"__dict__", "__weakref__", "__doc__", "__annotations__",
                         "__parameters__", "__abstractmethods__", "_abc_impl"})


def _class_changes(klass: type, attributes: dict[str, Any]) -> list[str]:
    """Attributes of a class rebound since, or callables added (``torch.Tensor.allclose = f``
    shadows the inherited method without touching any attribute that was there)."""
    now = vars(klass)
    changed = [key for key, value in attributes.items()
               if key not in _CLASS_SKIP and now.get(key, _MISSING) is not value]
    added = [key for key, value in now.items()
             if key not in attributes and key not in _CLASS_SKIP and callable(value)]
    return changed + added


# What a check leans on. Whole packages (every loaded submodule) for the course's own code; the
# top-level modules, where students reach, for the numerical libraries: photographing all of
# torch's 1,500 submodules before every call of a student's function would cost more than the call.
CALL_MODULES = ("builtins", "math", "operator", "copy", "numpy", "numpy.linalg", "numpy.random",
                "numpy.testing", "torch", "torch.nn", "torch.nn.functional", "torch.distributions",
                "torch.linalg", "torch.optim", "torch.testing", "torch._tensor",
                "torch.nn.modules.module")


def call_module_names() -> list[str]:
    """The modules :class:`~rlcourse.checks.feedback.Exercise` photographs around a call."""
    names = [n for n in CALL_MODULES if n in sys.modules]
    names += [n for n in list(sys.modules) if n == "rlcourse" or n.startswith("rlcourse.")]
    return names

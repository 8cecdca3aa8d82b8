"""Adapting a user's own descriptor so that the audit can run on it without subclassing.

:func:`as_descriptor` first passes the object through
:func:`completeness.descriptors.adapt` (configured dscribe descriptors, featomic
calculators and ASE calculators become descriptors there); then three shapes are accepted:

1. a :class:`~completeness.descriptors.base.Descriptor` (used through the same adapter, so its
   output is validated like any other);
2. any object with ``compute(systems, centers=..., gradients=...)`` returning either an object
   with ``values`` (and ``gradients`` when asked), like :class:`~completeness.descriptors.Features`,
   or a plain ``(n_samples, n_features)`` array;
3. a plain callable ``f(positions, numbers) -> vector``: ``positions`` is an ``(n_atoms, 3)``
   array whose row 0 is the centre (the adapter reorders the atoms so that every requested
   centre comes first in turn), ``numbers`` the matching atomic numbers, and the return value a
   1-D feature vector of the same length for every environment. A plain callable sees no cell
   and no cutoff, so it cannot describe periodic systems and has no analytic gradients.

Whatever the shape, the adapter checks what comes back: a 2-D finite array with one row per
requested centre (and gradients of shape ``(n_samples, n_atoms, 3, n_features)``). A wrong shape
raises a one-line :class:`~completeness.environments.InputError` that names the descriptor, the
shape it returned and the shape expected.

Optional attributes read from the user's object (or function): ``body_order`` (int), ``parity``
(``"O(3)"`` or ``"SO(3)"``), ``cutoff`` (Å) and ``name``. Without ``body_order``/``parity`` the
audit still measures every distance and verdict, it only cannot say which verdict to expect.

The user's code runs fenced in (objects with ``compute`` and callables; the package's own
descriptors are trusted):

* whatever it prints goes to stderr (Python's ``sys.stdout`` and file descriptor 1 alike), so
  machine-readable output on stdout (``completeness audit --json -``) stays valid;
* ``sys.exit()`` inside it becomes a :class:`DescriptorError` (the audit records it as a
  finding instead of ending); ``KeyboardInterrupt`` propagates (a clean stop);
* with ``timeout=`` seconds, the user's code runs in a child process
  (:class:`completeness.isolation.Isolated`, started at the first call and reused); a call
  (one ``compute``, or one environment of a plain callable) that does not return in time
  raises :class:`DescriptorTimeout` after the child and its process group are killed, so
  nothing keeps running, whatever the code was doing (a sleep, a C loop, a loop that swallows
  exceptions). Every later call of that descriptor fails at once with the same message (one
  hung descriptor costs one timeout, not one per measurement). The object must then pickle: a
  function or instance defined at the top of a module or script (``--descriptor module:attr``
  always is); a lambda or nested function fails at the first call with one line saying so.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys

import numpy as np

from ..environments import InputError, centres_per_system, check_systems
from ..isolation import Isolated, IsolationError, TimeLimit
from .adapters import adapt
from .base import Descriptor

__all__ = [
    "DescriptorError",
    "DescriptorTimeout",
    "UserDescriptor",
    "as_descriptor",
    "load_descriptor",
]


class DescriptorError(InputError):
    """The user's descriptor misbehaved (exited, timed out): a one-line message naming it."""


class DescriptorTimeout(DescriptorError):
    """A call of the user's descriptor did not return within its ``timeout``."""


class UserDescriptor:
    """A validated view of any descriptor: a :class:`Descriptor`, an object with ``compute``, or
    a callable ``(positions, numbers) -> vector``.

    Attributes
    ----------
    name : str
    body_order : int or None
    parity : str or None
        ``"O(3)"``, ``"SO(3)"`` or None when the user did not declare it.
    cutoff : float or None
    kind : str
        ``"descriptor"`` (a completeness Descriptor), ``"object"`` or ``"callable"``.
    wrapped : object
        The user's object itself.
    timeout : float or None
        Seconds one call may take (module docstring); None: no limit.
    """

    def __init__(self, wrapped, *, name: str | None = None, timeout: float | None = None):
        # the message of a timeout, repeated by every later call, and the child process that
        # runs the user's code under a timeout (both shared by re-wrappings)
        self._shared: dict = {}
        if isinstance(wrapped, UserDescriptor):
            name = name or wrapped.name
            timeout = wrapped.timeout if timeout is None else timeout
            self._shared = wrapped._shared
            wrapped = wrapped.wrapped
        wrapped = adapt(wrapped)  # peer objects, ASE calculators; refuses what cannot be
        self.wrapped = wrapped
        self.timeout = _check_timeout(timeout)
        if isinstance(wrapped, Descriptor):
            self.kind = "descriptor"
        elif callable(getattr(wrapped, "compute", None)):
            self.kind = "object"
            self._check_compute_signature()
        else:
            self.kind = "callable"
        self.name = name or _name_of(wrapped)
        self.body_order = _optional_int(getattr(wrapped, "body_order", None), self.name)
        parity = getattr(wrapped, "parity", None)
        if parity is not None and parity not in ("O(3)", "SO(3)"):
            raise InputError(
                f"descriptor {self.name!r} declares parity={parity!r}; use 'O(3)' (mirror "
                "invariant) or 'SO(3)' (some features change under a mirror)"
            )
        self.parity = parity
        cutoff = getattr(wrapped, "cutoff", None)
        self.cutoff = None if cutoff is None else float(cutoff)

    def __repr__(self) -> str:
        return f"UserDescriptor({self.name}, kind={self.kind})"

    # ---- the one entry point -------------------------------------------------------------------

    @property
    def has_gradients(self) -> bool:
        """False for plain callables (they only return values) and for objects that say so
        (``has_gradients = False``)."""
        return self.kind != "callable" and bool(getattr(self.wrapped, "has_gradients", True))

    def compute(self, systems, *, centers=None, gradients: bool = False):
        """Feature values (and gradients) of ``systems``, validated.

        Returns an object with ``values`` ``(n_samples, n_features)`` and ``gradients``
        ``(n_samples, n_atoms, 3, n_features)`` or None; one sample per requested centre, in the
        order system by system, centres in the order given (every atom when ``centers`` is None).
        """
        systems = check_systems(systems)
        expected_samples = _count_centres(systems, centers)
        if self.kind == "callable":
            if gradients:
                raise InputError(
                    f"descriptor {self.name!r} is a plain callable and has no analytic gradients; "
                    "give an object whose compute(..., gradients=True) returns them"
                )
            values = self._call_per_centre(systems, centers)
            return _Result(values=values, gradients=None)
        if self.kind == "descriptor":  # the package's own: trusted, no fence
            result = self.wrapped.compute(systems, centers=centers, gradients=gradients)
        elif gradients:
            result = self._run("compute", systems, centers=centers, gradients=True)
        else:
            result = self._run("compute", systems, centers=centers)
        values = _as_matrix(getattr(result, "values", result), self.name, expected_samples)
        grads = None
        if gradients:
            grads = getattr(result, "gradients", None)
            if grads is None:
                raise InputError(
                    f"descriptor {self.name!r} returned no gradients from compute(..., "
                    "gradients=True); return an object with a `gradients` array"
                )
            grads = np.asarray(grads, dtype=np.float64)
            n_atoms = max(len(atoms) for atoms in systems)
            want = (expected_samples, n_atoms, 3, values.shape[1])
            if (
                grads.ndim != 4
                or grads.shape[0] != want[0]
                or grads.shape[2:] != want[2:]
                or (grads.shape[1] < n_atoms)
            ):
                raise InputError(
                    f"descriptor {self.name!r} returned gradients of shape {grads.shape}, "
                    f"expected {want} (n_samples, n_atoms, 3, n_features)"
                )
        return _Result(values=values, gradients=grads)

    # ---- helpers -------------------------------------------------------------------------------

    def _run(self, method: str | None, *args, **kwargs):
        """Call the user's code, ``wrapped.<method>(...)`` (``wrapped(...)`` when ``method`` is
        None): stdout to stderr, the timeout in a child process, ``sys.exit`` as an error."""
        if "expired" in self._shared:
            raise DescriptorTimeout(self._shared["expired"])
        try:
            if self.timeout is None:
                function = self.wrapped if method is None else getattr(self.wrapped, method)
                with _stdout_to_stderr():
                    return function(*args, **kwargs)
            if "child" not in self._shared:
                self._shared["child"] = Isolated(self.wrapped, label=f"descriptor {self.name!r}")
            return self._shared["child"].call(method, args, kwargs, timeout=self.timeout)
        except TimeLimit:
            self._shared["expired"] = (
                f"descriptor {self.name!r} did not return within {self.timeout:g} s (timeout); "
                "make it faster or raise --timeout"
            )
            raise DescriptorTimeout(self._shared["expired"]) from None
        except IsolationError as error:
            raise DescriptorError(str(error)) from None
        except SystemExit as stop:
            raise DescriptorError(
                f"descriptor {self.name!r} called sys.exit({stop.code!r}); a descriptor must "
                "return features or raise an exception"
            ) from None

    def _check_compute_signature(self):
        try:
            signature = inspect.signature(self.wrapped.compute)
        except (TypeError, ValueError):
            return  # builtins without a signature: nothing to check before calling
        try:
            signature.bind([], centers=None)
        except TypeError:
            raise InputError(
                f"{type(self.wrapped).__name__}.compute{signature} cannot be called as "
                "compute(systems, centers=...); accept `centers` (None or indices)"
            ) from None

    def _call_per_centre(self, systems, centers) -> np.ndarray:
        rows = []
        per_system = centres_per_system(systems, centers)
        for index, (atoms, centres) in enumerate(zip(systems, per_system, strict=True)):
            if np.any(atoms.pbc):
                raise InputError(
                    f"descriptor {self.name!r} is a plain callable (positions, numbers) and "
                    f"cannot see the cell of periodic system {index}; give an object with "
                    "compute() to handle periodic cells"
                )
            positions = np.asarray(atoms.positions, dtype=np.float64)
            numbers = np.asarray(atoms.numbers, dtype=np.int64)
            for centre in centres:
                order = np.concatenate([[centre], np.delete(np.arange(len(atoms)), centre)])
                vector = np.asarray(self._run(None, positions[order], numbers[order]))
                if vector.ndim == 2 and vector.shape[0] == 1:
                    vector = vector[0]
                if vector.ndim != 1:
                    raise InputError(
                        f"descriptor {self.name!r} returned an array of shape {vector.shape}; "
                        "a callable (positions, numbers) must return one 1-D feature vector "
                        "for the centre (row 0)"
                    )
                if rows and vector.shape != rows[0].shape:
                    raise InputError(
                        f"descriptor {self.name!r} returned {vector.shape[0]} features for one "
                        f"environment and {rows[0].shape[0]} for another; a descriptor must "
                        "have a fixed length"
                    )
                rows.append(vector)
        n_features = rows[0].shape[0] if rows else 0
        values = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_features)
        return _as_matrix(values, self.name, len(rows))


def _check_timeout(timeout):
    if timeout is None:
        return None
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(timeout, bool) or not np.isfinite(value) or value <= 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return value


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send what the block prints (``sys.stdout`` and file descriptor 1) to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (a closed stdout): nothing printed can corrupt it
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


class _Result:
    """Validated output of :meth:`UserDescriptor.compute` (values, gradients)."""

    __slots__ = ("gradients", "values")

    def __init__(self, values, gradients):
        self.values = values
        self.gradients = gradients


def as_descriptor(obj, *, name: str | None = None, timeout: float | None = None) -> UserDescriptor:
    """Wrap ``obj`` (Descriptor, object with ``compute``, or callable) for the audit."""
    return UserDescriptor(obj, name=name, timeout=timeout)


def _name_of(obj) -> str:
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        return obj.__name__
    return type(obj).__name__


def _optional_int(value, name):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise InputError(
        f"descriptor {name!r} declares body_order={value!r}; give a positive integer "
        "(2 for pair terms, 3 for angles, ...) or leave it undefined"
    )


def _as_matrix(values, name: str, n_samples: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"descriptor {name!r} returned values that are not a numeric array ({error})"
        ) from None
    if array.ndim != 2 or array.shape[0] != n_samples:
        raise InputError(
            f"descriptor {name!r} returned values of shape {array.shape}, expected "
            f"({n_samples}, n_features): one row per requested centre"
        )
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise InputError(
            f"descriptor {name!r} returned non-finite values (NaN or inf) for sample {row}"
        )
    return array


def _count_centres(systems, centers) -> int:
    return int(sum(len(c) for c in centres_per_system(systems, centers)))


def load_descriptor(spec: str):
    """The object named by ``"module:attr"`` (a class is instantiated without arguments).

    ``module`` is imported like any Python module: from ``PYTHONPATH``, installed packages or
    the current working directory (which is put on ``sys.path`` for this import, as ``python -m``
    does, so that a user's ``my_descriptor.py`` next to their data is found).
    """
    import importlib
    import os
    import sys

    module_name, sep, attribute = str(spec).partition(":")
    if not sep or not module_name or not attribute:
        raise InputError(
            f"descriptor {spec!r} is neither a built-in name nor 'module:attr'; give e.g. "
            "--descriptor my_module:my_descriptor"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(
            f"cannot import module {module_name!r} for descriptor {spec!r} ({error}); put it "
            "on PYTHONPATH or in the current directory"
        ) from None
    obj = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise InputError(
                f"module {module_name!r} has no attribute {attribute!r}; check the name after "
                "the colon"
            )
        obj = getattr(obj, part)
    if isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as error:
            raise InputError(
                f"{spec} is a class that cannot be built without arguments ({error}); point "
                "to an instance instead"
            ) from None
    return obj

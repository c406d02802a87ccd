"""The neuron-model API: declare a model once, run it on every backend.

A model is

* a frozen parameter dataclass in SI units, validated when constructed;
* a declared tuple of state variables, each with a unit (and an initial value: a number, or
  the name of a parameter field that holds it);
* ``coeffs(params, dt)``, returning a NamedTuple of plain floats (every exponential of the
  step taken once);
* one step function ``step(state, i_ext, c, spike_fn, exp) -> (new_state, spike)`` in plain
  arithmetic (``+ - * /``, comparisons, ``abs``, the ``exp`` and ``spike_fn`` it is given),
  so that it runs on Python and numba scalars, numpy arrays and torch tensors alike.
  ``state`` is a named tuple of the declared variables, ``i_ext`` the external current (A)
  held over the step, ``spike_fn`` maps ``v - threshold`` to the spike indicator (Heaviside
  for simulation, a surrogate for training); ``new_state`` is any tuple of the declared
  length, in declared order.

:func:`define_model` checks a declaration (every ``state.<name>`` the step reads must be
declared, every variable needs a unit) and registers it for its parameter type, so that
``Network.add_population(name, n, params)`` finds it.  :meth:`NeuronModel.bind` checks the
step on one neuron (the number of fields it returns, finite values) before any compiled code
is built.  The engine builds its state arrays and compiled loops from the declaration: no
backend holds code of its own for any model.

Two state variables of every model receive the weights of arriving spikes (``inputs``: the
excitatory and inhibitory channel); the engine keeps them in rows 1 and 2 of its state
matrix, and the other variables, in declared order, in rows 0, 3, 4, ...
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import math
import sys
import textwrap
import warnings
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba.core.registry import cpu_target
from numba.extending import register_jitable

from .validation import check_positive

__all__ = [
    "StateVariable",
    "NeuronModel",
    "define_model",
    "model_of",
    "registered_models",
]


@dataclass(frozen=True)
class StateVariable:
    """One declared state variable of a model.

    ``unit`` is the SI unit as text (``"V"``, ``"A"``, ``"S"``, ``"1"`` for dimensionless,
    ``"steps"`` for step counts); ``initial`` the value a neuron starts from: a number, the
    name of a field of the parameter dataclass, or a function of the parameters.
    """

    name: str
    unit: str
    initial: float | str | Callable[[Any], float] = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a state variable's name must be a Python identifier, "
                             f"got {self.name!r}")
        if not isinstance(self.unit, str) or not self.unit.strip():
            raise ValueError(f"state variable {self.name!r} must have a unit (e.g. 'V', 'A', "
                             f"'S', '1' for dimensionless), got {self.unit!r}")
        if isinstance(self.initial, bool) or not (
                isinstance(self.initial, (int, float, str)) or callable(self.initial)):
            raise TypeError(f"state variable {self.name!r}: initial must be a number, the "
                            f"name of a parameter field or a function of the parameters, "
                            f"got {type(self.initial).__name__}")


def _as_variable(entry: Any) -> StateVariable:
    if isinstance(entry, StateVariable):
        return entry
    if isinstance(entry, (tuple, list)) and len(entry) in (2, 3):
        return StateVariable(*entry)
    if isinstance(entry, str):
        raise ValueError(f"state variable {entry!r} must have a unit: declare it as "
                         f"({entry!r}, unit) or StateVariable({entry!r}, unit)")
    raise TypeError(f"a state variable must be a StateVariable or a (name, unit[, initial]) "
                    f"tuple, got {entry!r}")


def _state_reads(step: Callable) -> set[str]:
    """Attribute names the step function reads from its first argument (``state.x``)."""
    try:
        source = textwrap.dedent(inspect.getsource(step))
    except (OSError, TypeError):
        return set()
    tree = ast.parse(source)
    func = next((node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.Lambda))), None)
    if func is None or not func.args.args:
        return set()
    first = func.args.args[0].arg
    return {node.attr for node in ast.walk(func)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == first and not node.attr.startswith("_")}


def _module_source(module_name: str | None) -> bytes:
    module = sys.modules.get(module_name or "")
    path = getattr(module, "__file__", None)
    if path and Path(path).is_file():
        return Path(path).read_bytes()
    return b""


def _code_digest(code: Any, digest: Any) -> None:
    """Feed ``digest`` with a code object's bytecode, names and constants (nested code
    objects by their own content: their repr holds a memory address)."""
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if inspect.iscode(const):
            _code_digest(const, digest)
        else:
            digest.update(repr(const).encode())


def _function_key(fn: Callable, digest: Any, seen: set[int]) -> None:
    """Feed ``digest`` with what the compiled code of ``fn`` can include: its bytecode, its
    constants, and, followed transitively, the functions it refers to by name or closure,
    with the source files of their modules."""
    fn = getattr(fn, "py_func", fn)
    if id(fn) in seen or not inspect.isfunction(fn):
        return
    seen.add(id(fn))
    code = fn.__code__
    digest.update(f"{fn.__module__}.{fn.__qualname__}".encode())
    _code_digest(code, digest)
    digest.update(_module_source(fn.__module__))
    referenced = [fn.__globals__.get(name) for name in code.co_names]
    referenced += [cell.cell_contents for cell in fn.__closure__ or ()]
    for value in referenced:
        if callable(value):
            _function_key(value, digest, seen)


def _compilable(fn: Callable) -> Callable:
    """``fn`` callable from numba-compiled code too (unchanged for Python callers): a
    function numba already knows (a dispatcher, or one registered as the built-in steps are)
    is left as it is, so that no second overload is registered for it."""
    if hasattr(fn, "py_func"):
        return fn
    typing_context = cpu_target.typing_context
    typing_context.refresh()
    try:
        typing_context.resolve_value_type(fn)
        return fn
    except ValueError:
        pass
    # IR inlining: a step called per neuron must merge into the loop to vectorise.
    register_jitable(inline="always")(fn)
    return fn


@dataclass(frozen=True, eq=False)
class NeuronModel:
    """A declared neuron model (see the module docstring); build it with
    :func:`define_model`.

    Attributes:
        name: the model's name (an identifier).
        params_type: its frozen parameter dataclass.
        state: the declared state variables.
        inputs: names of the variables that receive excitatory and inhibitory spikes.
        coeffs: ``coeffs(params, dt) -> NamedTuple`` of floats.
        step: the step function.
        work: relative cost of one neuron step (1 for a current-based LIF); the numba
            backend updates neurons in parallel threads above a total work.
        source: where the model and its integration scheme come from.
    """

    name: str
    params_type: type
    state: tuple[StateVariable, ...]
    inputs: tuple[str, str]
    coeffs: Callable[[Any, float], tuple]
    step: Callable[..., tuple]
    work: float = 1.0
    source: str = ""
    state_type: type = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name, module = self.name, self.params_type.__module__
        base = namedtuple(f"{name}State", self.state_names)
        # Pickled by reference to the model (networks and results are saved with torch.save
        # or pickle), found again by name after importing the module of its parameters.
        state_type = type(base.__name__, (base,), {
            "__slots__": (), "__module__": module,
            "__reduce__": lambda values: (_rebuild_state, (name, module, tuple(values)))})
        object.__setattr__(self, "state_type", state_type)

    def __reduce__(self) -> tuple:
        return _find_model, (self.name, self.params_type.__module__)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the state variables, in declared order."""
        return tuple(v.name for v in self.state)

    @property
    def units(self) -> dict[str, str]:
        """Unit of each state variable, by name."""
        return {v.name: v.unit for v in self.state}

    @property
    def engine_rows(self) -> tuple[int, ...]:
        """Row of each declared variable in the engine's state matrix: the two inputs in
        rows 1 and 2, the others in declared order in rows 0, 3, 4, ..."""
        others = [n for n in self.state_names if n not in self.inputs]
        order = others[:1] + list(self.inputs) + others[1:]
        return tuple(order.index(n) for n in self.state_names)

    @property
    def key(self) -> str:
        """Hash of the model's code (step and coefficient functions, their modules and the
        functions they call): the compiled-code cache keys on it."""
        digest = hashlib.sha256(self.name.encode())
        # Names and units only: the initial values do not enter compiled code (and a
        # function's repr holds its address).
        digest.update(repr([(v.name, v.unit) for v in self.state]).encode())
        digest.update(repr(self.inputs).encode())
        seen: set[int] = set()
        _function_key(self.step, digest, seen)
        return digest.hexdigest()[:20]

    def compiled_step(self) -> Callable:
        """The step function, callable from numba-compiled code."""
        return _compilable(self.step)

    def initial_state(self, params: Any, n_neurons: int) -> tuple:
        """Initial values, ``state_type`` of float64 arrays ``[n_neurons]``."""
        values = []
        for var in self.state:
            if isinstance(var.initial, str):
                value = getattr(params, var.initial)
            elif callable(var.initial):
                value = var.initial(params)
            else:
                value = var.initial
            values.append(np.full(n_neurons, float(value)))
        return self.state_type(*values)

    def bind(self, params: Any, dt: float) -> tuple:
        """The coefficients for ``params`` and ``dt``, after checking the model on one
        neuron: the step must return ``(state, spike)`` with one finite value per declared
        variable.  Raises before any compiled code is built.

        Args:
            params: an instance of ``params_type``.
            dt: time step (s, > 0).

        Returns:
            The coefficient NamedTuple.
        """
        if not isinstance(params, self.params_type):
            raise TypeError(f"params of model {self.name} must be {self.params_type.__name__}, "
                            f"got {type(params).__name__}")
        check_positive("dt", dt, unit="s")
        c = self.coeffs(params, dt)
        fields = getattr(c, "_fields", None)
        if fields is None:
            raise TypeError(f"model {self.name}: coeffs must return a NamedTuple of floats, "
                            f"got {type(c).__name__}")
        bad = [name for name, value in zip(fields, c)
               if isinstance(value, bool) or not isinstance(value, (int, float))
               or math.isnan(value)]
        if bad:
            raise TypeError(f"model {self.name}: coefficients {bad} must be numbers (floats), "
                            f"not NaN")
        state = self.state_type(*(float(x[0]) for x in self.initial_state(params, 1)))
        try:
            out = self.step(state, 0.0, c, _heaviside, math.exp)
        except AttributeError as err:
            raise ValueError(f"model {self.name}: the step function reads a name that is "
                             f"neither a state variable {self.state_names} nor a coefficient "
                             f"{tuple(fields)}: {err}") from err
        if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[0], tuple):
            raise ValueError(f"model {self.name}: the step function must return "
                             f"(new_state, spike) with new_state a tuple, got {out!r}")
        new, spike = out
        if len(new) != len(self.state):
            raise ValueError(f"model {self.name}: the step function returns {len(new)} state "
                             f"fields, the model declares {len(self.state)} "
                             f"{self.state_names}")
        if not all(isinstance(x, (int, float)) for x in (*new, spike)):
            raise TypeError(f"model {self.name}: the step function must return numbers for "
                            f"scalar input, got {out!r}")
        return c


# Models by (module of their parameters, name), for unpickling: the registered one, else the
# first declared under that name.
_BY_NAME: dict[tuple[str, str], NeuronModel] = {}


def _find_model(name: str, module: str) -> NeuronModel:
    """The model declared under ``name`` (importing ``module``, which declares it, first)."""
    if (module, name) not in _BY_NAME:
        importlib.import_module(module)
    if (module, name) not in _BY_NAME:
        raise ValueError(f"no neuron model named {name!r} is declared after importing "
                         f"{module!r}; declare it before loading what refers to it")
    return _BY_NAME[module, name]


def _rebuild_state(name: str, module: str, values: tuple) -> tuple:
    return _find_model(name, module).state_type(*values)


def _heaviside(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0


_REGISTRY: dict[type, Callable[[Any], NeuronModel]] = {}


def define_model(
    name: str,
    params_type: type,
    *,
    state: Sequence[StateVariable | tuple],
    coeffs: Callable[[Any, float], tuple],
    step: Callable[..., tuple],
    inputs: tuple[str, str] = ("syn_exc", "syn_inh"),
    work: float = 1.0,
    source: str = "",
    register: bool = True,
) -> NeuronModel:
    """Declare a neuron model (see the module docstring for the contract).

    Args:
        name: the model's name (an identifier).
        params_type: its frozen parameter dataclass.
        state: the state variables: :class:`StateVariable` or ``(name, unit[, initial])``.
        coeffs: ``coeffs(params, dt)`` -> a NamedTuple of floats.
        step: ``step(state, i_ext, c, spike_fn, exp) -> (new_state, spike)``.
        inputs: the two variables that receive excitatory and inhibitory spike weights.
        work: relative cost of one neuron step (1: a current-based LIF).
        source: citation of the model and its integration scheme.
        register: make ``model_of(params)`` find this model for ``params_type``.

    Returns:
        The :class:`NeuronModel`.

    Raises:
        ValueError: a variable without a unit, a duplicate or unknown name, or a step
            function that reads ``state.<name>`` for an undeclared name.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier, got {name!r}")
    if not (isinstance(params_type, type) and is_dataclass(params_type)):
        raise TypeError(f"params_type must be a dataclass type, got {params_type!r}")
    if not callable(coeffs) or not callable(step):
        raise TypeError("coeffs and step must be functions")
    variables = tuple(_as_variable(v) for v in state)
    names = [v.name for v in variables]
    if not variables or len(set(names)) != len(names):
        raise ValueError(f"state must declare distinct variables, got {names}")
    fields = {f for f in getattr(params_type, "__dataclass_fields__", {})}
    for var in variables:
        if isinstance(var.initial, str) and var.initial not in fields:
            raise ValueError(f"state variable {var.name!r}: initial {var.initial!r} is not a "
                             f"field of {params_type.__name__}")
    if (not isinstance(inputs, tuple) or len(inputs) != 2
            or any(n not in names for n in inputs) or inputs[0] == inputs[1]):
        raise ValueError(f"inputs must name two distinct state variables of {names}, "
                         f"got {inputs!r}")
    unknown = sorted(_state_reads(step) - set(names))
    if unknown:
        raise ValueError(f"model {name}: the step function reads state.{unknown[0]}, which is "
                         f"not a declared state variable; declared: {names}")
    if not isinstance(work, (int, float)) or not work > 0:
        raise ValueError(f"work must be > 0, got {work!r}")
    model = NeuronModel(name, params_type, variables, tuple(inputs), coeffs, step,
                        float(work), source)
    if register:
        _REGISTRY[params_type] = lambda params, model=model: model
    if register or (params_type.__module__, name) not in _BY_NAME:
        _BY_NAME[params_type.__module__, name] = model
    return model


def register_params(params_type: type, choose: Callable[[Any], NeuronModel]) -> None:
    """Let :func:`model_of` find a model for ``params_type`` through ``choose(params)``
    (for parameter types whose model depends on a field, such as the synapse kind)."""
    _REGISTRY[params_type] = choose


def model_of(params: Any) -> NeuronModel:
    """The registered model for ``params`` (its exact type, then its base classes).

    Raises:
        TypeError: no model is registered for the parameter type.
    """
    for cls in type(params).__mro__:
        if cls in _REGISTRY:
            return _REGISTRY[cls](params)
    raise TypeError(f"params must be the parameters of a registered neuron model (e.g. "
                    f"snn.LIFParams, snn.AdExParams, or a type given to snn.define_model), "
                    f"got {type(params).__name__}")


def registered_models() -> tuple[str, ...]:
    """Names of the parameter types with a registered model."""
    return tuple(sorted(cls.__name__ for cls in _REGISTRY))


def warn_unstable(model: str, dt: float, largest: float) -> None:
    """Warn that ``dt`` exceeds the largest stable step of ``model``."""
    warnings.warn(f"dt = {dt:g} s is above the largest stable step of {model} for these "
                  f"parameters, {largest:g} s: the integration may diverge or miss spikes",
                  RuntimeWarning, stacklevel=3)

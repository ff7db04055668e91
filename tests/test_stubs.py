"""The type stubs `sftmask/_native.pyi` against the compiled module: the same public names, and for every function
and method the same parameters (name, and whether it has a default) as its native signature."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from sftmask import _native

STUB = Path(_native.__file__).with_name("_native.pyi")


def _public(names) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def _is_typing_only(node: ast.stmt) -> bool:
    """A name the stub defines for annotations alone (a type alias or a TypedDict), which the module lacks."""
    if isinstance(node, ast.Assign):  # `Policy = Mapping[str, Any]`; runtime values are annotated: `FORMATS: list[str]`
        return True
    return isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "TypedDict" for base in node.bases)


def _stub_nodes(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The public names a module or class body defines, each with its definition."""
    nodes = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.AnnAssign):
            names = [ast.unparse(node.target)]
        elif isinstance(node, ast.Assign):
            names = [ast.unparse(target) for target in node.targets]
        else:
            continue
        nodes.update((name, node) for name in _public(names))
    return nodes


def _stub_parameters(function: ast.FunctionDef, *, method: bool) -> list[tuple[str, bool]]:
    """(name, has a default) for each parameter, without the `self` of a method."""
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    parameters = [(a.arg, d) for a, d in zip(positional, defaults)]
    parameters += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    static = any(ast.unparse(d) == "staticmethod" for d in function.decorator_list)
    return parameters[1:] if method and not static else parameters


def _native_parameters(function, *, method: bool) -> list[tuple[str, bool]]:
    """(name, has a default) for each parameter, without the `self` of a method."""
    parameters = [(p.name, p.default is not p.empty) for p in inspect.signature(function).parameters.values()]
    return parameters[1:] if method else parameters


STUB_NODES = _stub_nodes(ast.parse(STUB.read_text(encoding="utf-8")).body)
RUNTIME_STUB_NODES = {name: node for name, node in STUB_NODES.items() if not _is_typing_only(node)}


def test_the_stub_and_the_module_define_the_same_public_names():
    assert set(RUNTIME_STUB_NODES) - _public(dir(_native)) == set(), "in the stub but not in the module"
    assert _public(dir(_native)) - set(RUNTIME_STUB_NODES) == set(), "in the module but not in the stub"


CLASSES = sorted(name for name, node in RUNTIME_STUB_NODES.items() if isinstance(node, ast.ClassDef))
FUNCTIONS = sorted(name for name, node in RUNTIME_STUB_NODES.items() if isinstance(node, ast.FunctionDef))


@pytest.mark.parametrize("name", CLASSES)
def test_a_class_has_the_methods_of_its_stub(name):
    cls = getattr(_native, name)
    methods = _stub_nodes(RUNTIME_STUB_NODES[name].body)
    # Only what the class itself defines: exceptions inherit ValueError's public methods, which the stub leaves out.
    assert set(methods) == _public(vars(cls)), name
    for method_name, node in methods.items():
        native = getattr(cls, method_name)
        static = isinstance(vars(cls)[method_name], staticmethod)
        if getattr(native, "__text_signature__", None) is not None:
            assert _stub_parameters(node, method=True) == _native_parameters(native, method=not static), method_name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_function_has_the_parameters_of_its_stub(name):
    native = getattr(_native, name)
    assert native.__text_signature__ is not None, name
    assert _stub_parameters(RUNTIME_STUB_NODES[name], method=False) == _native_parameters(native, method=False)


def test_the_literal_types_name_the_values_the_core_takes():
    from typing import get_args

    from sftmask.constants import Format

    assert get_args(Format) == tuple(_native.FORMATS)

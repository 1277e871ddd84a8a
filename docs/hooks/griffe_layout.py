"""A Griffe extension for the API reference: attach the folders that install as
subpackages of ``fasttransfer`` (``theory/`` as ``fasttransfer.theory``, ...; the
``[tool.setuptools.package-dir]`` table of pyproject.toml) to the ``fasttransfer``
package, which Griffe, reading the source tree, would otherwise not find under it; and
show the Sphinx roles of our free-form docstrings (``:func:`x` ``, ``:mod:`x` ``, ...)
as code, ``x``, the way markdown can (a role split over two lines is joined).

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); it uses ``GriffeLoader._load_module``
(Griffe's own way to load a module under a parent), so a Griffe upgrade that renames it
shows up here first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import griffe

_ROLE = re.compile(r":(?:func|class|mod|data|attr|meth|exc|obj|const):`~?([^`]+)`")


def plain_roles(text: str) -> str:
    """``:func:`a.b` `` -> ```a.b` ``; a name broken after a dot is joined again."""

    def code(match: re.Match) -> str:
        name = re.sub(r"\.\s*\n\s*", ".", match.group(1))
        return "`" + " ".join(name.split()) + "`"

    return _ROLE.sub(code, text)


class PackageDirLayout(griffe.Extension):
    """Load each mapped folder as a submodule of the top-level package; plain roles."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        if pkg.name != "fasttransfer" or pkg.filepath is None:
            return
        root = Path(str(pkg.filepath)).resolve().parent.parent
        pyproject = root / "pyproject.toml"
        if not pyproject.is_file():
            return
        table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        mapping = table["tool"]["setuptools"].get("package-dir", {})
        for dotted, folder in mapping.items():
            parent, _, name = dotted.rpartition(".")
            init = root / folder / "__init__.py"
            if parent != pkg.name or name in pkg.members or not init.is_file():
                continue
            module = loader._load_module(name, init, submodules=True, parent=pkg)
            pkg.set_member(name, module)

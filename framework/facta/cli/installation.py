"""How this facta is installed, and so how a project made by ``facta new`` should depend on it.

A generated project installs facta into its own ``.venv``, so it must name facta in a way
that works on this machine. Pip records how it installed a distribution (PEP 610's
``direct_url.json``):

- from a checkout (``pip install -e .`` or ``pip install .``): the project depends on
  ``facta @ file:///the/checkout``;
- from a wheel or an archive: ``facta @ file:///the/facta-X.whl``;
- from git: ``facta @ git+URL@COMMIT``;
- from a package index (no ``direct_url.json``): a version range, ``facta>=0.1.0,<0.2``.

A direct reference is this machine's path: the generated README says so, and how to
change it once facta is on the index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from facta import __version__

__all__ = ["FactaSource", "facta_requirement", "facta_source", "is_direct_reference"]


def facta_requirement(version: str = __version__) -> str:
    """The version specifier a generated project puts on facta: this minor version on."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return f">={version}"
    major, minor = int(match[1]), int(match[2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={version},<{upper}"


def is_direct_reference(spec: str) -> bool:
    """True when ``spec`` (the ``facta_version`` answer) is ``@ URL``, not a version range."""
    return spec.lstrip().startswith("@")


@dataclass(frozen=True)
class FactaSource:
    """Where this facta came from: ``kind`` (checkout, wheel, git or index) and the
    requirement tail a project puts after ``facta[extras]`` to get the same facta."""

    kind: str
    requirement: str


def facta_source(distribution: str = "facta") -> FactaSource:
    """How ``distribution`` (facta) is installed here, read from pip's ``direct_url.json``."""
    from importlib import metadata  # here, not at the top: --help starts faster

    try:
        recorded = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        recorded = None  # run from a source tree without being installed
    if recorded:
        try:
            direct = json.loads(recorded)
        except ValueError:
            direct = None
        if isinstance(direct, dict) and isinstance(url := direct.get("url"), str):
            vcs = direct.get("vcs_info")
            if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
                commit = vcs.get("commit_id") or vcs.get("requested_revision")
                suffix = f"@{commit}" if commit else ""
                return FactaSource("git", f"@ {vcs['vcs']}+{url}{suffix}")
            if "dir_info" in direct:
                return FactaSource("checkout", f"@ {url}")
            return FactaSource("wheel", f"@ {url}")
    return FactaSource("index", facta_requirement())

"""How ``facta new`` names facta in a generated project: as pip installed it here.

pip records a direct installation in ``direct_url.json`` (PEP 610); a fake distribution
on ``sys.path`` with each kind of record stands for facta installed that way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facta.cli.installation import facta_requirement, facta_source, is_direct_reference


def _installed(site: Path, direct_url: dict[str, object] | None) -> str:
    info = site / "fake_facta-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-facta\nVersion: 1.0\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return "fake-facta"


@pytest.mark.parametrize(
    ("direct_url", "kind", "requirement"),
    [
        pytest.param(
            {"url": "file:///src/facta", "dir_info": {"editable": True}},
            "checkout",
            "@ file:///src/facta",
            id="editable-checkout",
        ),
        pytest.param(
            {"url": "file:///src/facta", "dir_info": {}},
            "checkout",
            "@ file:///src/facta",
            id="checkout",
        ),
        pytest.param(
            {"url": "file:///w/facta-0.1.0-py3-none-any.whl", "archive_info": {}},
            "wheel",
            "@ file:///w/facta-0.1.0-py3-none-any.whl",
            id="wheel",
        ),
        pytest.param(
            {
                "url": "https://example.org/facta.git",
                "vcs_info": {"vcs": "git", "commit_id": "abc"},
            },
            "git",
            "@ git+https://example.org/facta.git@abc",
            id="git",
        ),
        pytest.param(None, "index", facta_requirement(), id="index"),
    ],
)
def test_a_project_installs_facta_from_where_it_was_installed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct_url: dict[str, object] | None,
    kind: str,
    requirement: str,
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _installed(tmp_path, direct_url)

    source = facta_source(name)

    assert (source.kind, source.requirement) == (kind, requirement)
    assert is_direct_reference(source.requirement) is (kind != "index")


def test_the_version_range_is_this_minor_version_on() -> None:
    assert facta_requirement("0.1.0") == ">=0.1.0,<0.2"
    assert facta_requirement("1.4.2") == ">=1.4.2,<2"

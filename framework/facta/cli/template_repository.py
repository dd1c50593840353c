"""The git repository of facta's template versions that ``facta new`` renders projects from.

copier updates a project by rendering the template version the project was made from,
seeing what the project changed since, and carrying that over onto the new version: it
needs every version of the template, in git. facta ships only its own version, so each
facta commits its template to this repository, tagged ``v<version>``, before it renders
or updates a project; a version the machine never had is fetched from facta's wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from facta.cli.errors import Failure

__all__ = [
    "DEFAULT_REPOSITORY",
    "EXECUTABLE",
    "REPOSITORY_ENV",
    "TemplateRepository",
    "git",
    "version_of",
]

REPOSITORY_ENV = "FACTA_TEMPLATE_REPOSITORY"
DEFAULT_REPOSITORY = "~/.cache/facta/templates/service"
"""Where template versions are kept, written with ``~`` so that answers files stay portable."""

EXECUTABLE = ("scripts/run", "scripts/test", ".ci/run")
"""The files of a generated project that are programs."""

_GIT = ("-c", "user.name=facta", "-c", "user.email=facta@localhost", "-c", "commit.gpgsign=false")


def git(folder: Path, *argv: str) -> str:
    """Run git in ``folder``; its output, or a ``Failure`` saying what went wrong."""
    result = subprocess.run(
        ["git", *_GIT, "-C", str(folder), *argv], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise Failure(f"git {' '.join(argv)} failed in {folder}: {result.stderr.strip()}")
    return result.stdout.rstrip("\n")


def version_of(tag: str) -> str | None:
    """The facta version of a template tag (``v0.1.0`` is 0.1.0), None for a revision."""
    match = re.fullmatch(r"v([0-9][0-9A-Za-z.!]*)", tag)
    return match[1] if match else None


@dataclass(frozen=True)
class TemplateRepository:
    """The git repository of facta's template versions that projects are rendered from.

    ``location`` is what answers files record (``~`` stays unexpanded). A version's
    template is committed once, tagged ``v<version>``; if the template of the same version
    changes (only while facta itself is developed), the revision is tagged
    ``v<version>+1``, ``+2``... Each tag has a commit of its own, and the working tree
    always matches the last commit, as copier expects of a local template.
    """

    location: str

    @classmethod
    def default(cls) -> TemplateRepository:
        """The repository ``$FACTA_TEMPLATE_REPOSITORY`` names, or the user's cache."""
        return cls(os.environ.get(REPOSITORY_ENV) or DEFAULT_REPOSITORY)

    @property
    def path(self) -> Path:
        return Path(self.location).expanduser()

    def publish(self, template: Path, version: str, *, tag: str | None = None) -> str:
        """Commit ``template`` as ``version``'s (unless its last revision is the same);
        answer its tag. With ``tag``, commit it under exactly that tag."""
        with self._locked():
            revisions = [] if tag else self._revisions(version)
            for entry in self.path.iterdir():
                if entry.name != ".git":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            shutil.copytree(
                template,
                self.path,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store"),
            )
            for name in EXECUTABLE:
                for path in (self.path / "project").glob(f"{name}*"):
                    path.chmod(path.stat().st_mode | 0o111)
            self._git("add", "--all")
            tree = self._git("write-tree")
            last = revisions[-1] if revisions else None
            if last is not None and self._git("rev-parse", f"{last}^{{tree}}") == tree:
                chosen = last
            else:
                chosen = tag or (f"v{version}+{len(revisions)}" if revisions else f"v{version}")
                self._git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", chosen)
                self._git("tag", chosen)
            self._git("reset", "--quiet", "--hard", "HEAD")
            self._git("clean", "--quiet", "-d", "-x", "--force")
            return chosen

    def has(self, tag: str) -> bool:
        """Whether ``tag`` is in the repository."""
        return tag in self._git("tag", "--list", tag).splitlines()

    def recover(self, tag: str) -> None:
        """Add a template version this machine never had, from facta's wheel of it."""
        version = version_of(tag)
        if version is None or "+" in tag:
            raise Failure(
                f"the project's template version {tag} is not in {self.location}, and it "
                f"cannot be fetched (it is a development revision of facta's template)"
            )
        with tempfile.TemporaryDirectory(prefix="facta-template-") as scratch:
            folder = Path(scratch)
            fetched = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    str(folder),
                    f"facta=={version}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            wheels = sorted(folder.glob("facta-*.whl"))
            if fetched.returncode != 0 or not wheels:
                raise Failure(
                    f"the project's template version {tag} is not in {self.location}, and "
                    f"facta {version} could not be downloaded to get it: "
                    f"{fetched.stderr.strip().splitlines()[-1:] or 'no wheel'}"
                )
            source = folder / "template"
            prefix = "facta/templates/service/"
            with zipfile.ZipFile(wheels[0]) as wheel:
                for member in wheel.namelist():
                    if member.startswith(prefix) and not member.endswith("/"):
                        target = source / member.removeprefix(prefix)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(wheel.read(member))
            if not (source / "copier.yml").is_file():
                raise Failure(f"facta {version}'s wheel has no project template")
            self.publish(source, version, tag=tag)

    def _revisions(self, version: str) -> list[str]:
        """The tags of ``version``'s template, oldest revision first."""
        pattern = re.compile(rf"v{re.escape(version)}(?:\+(\d+))?")
        numbered = []
        for tag in self._git("tag", "--list", f"v{version}", f"v{version}+*").splitlines():
            match = pattern.fullmatch(tag)
            if match is not None:
                numbered.append((int(match[1] or 0), tag))
        return [tag for _, tag in sorted(numbered)]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / ".git").exists():
            self._git("init", "--quiet")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one facta at a time
            yield
            return
        with open(self.path / ".git" / "facta.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _git(self, *argv: str) -> str:
        return git(self.path, *argv)

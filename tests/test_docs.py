"""The documentation: the ODD covers every phase of ARCHITECTURE.md, in order, and the site
builds with warnings as errors (mkdocs build --strict). docs/PARAMETERS.md is checked against
`abm scenario doc` by tests/test_scenario.py."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def architecture_phases() -> list[str]:
    """Phase names: the first column (in backticks) of the table under '## Phases of a day'."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## Phases of a day", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\|\s*`([a-z_]+)`\s*\|", section, flags=re.MULTILINE)


def test_odd_covers_every_phase_in_order():
    phases = architecture_phases()
    assert len(phases) >= 8 and "environment" in phases[:2] and phases[-1] == "record"
    odd = (ROOT / "docs" / "ODD.md").read_text()
    process = odd.split("## 3. Process overview and scheduling", 1)[1].split("\n## ", 1)[0]
    # the numbered list of phases: "1. **`environment`**: ..."
    listed = re.findall(r"^\d+\. \*\*`([a-z_]+)`\*\*", process, flags=re.MULTILINE)
    missing = [p for p in phases if p not in listed]
    assert not missing, f"phases of ARCHITECTURE.md missing from the ODD: {missing}"
    assert listed == phases, "the ODD lists other phases, or in another order"


def test_odd_has_the_protocol_sections():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    for heading in (
        "Purpose and patterns",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Design concepts",
        "Initialisation",
        "Input data",
        "Submodels",
    ):
        assert re.search(rf"^## \d\. {heading}", odd, flags=re.MULTILINE), heading


def test_docs_site_builds_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed: make test installs the docs extra")
        pytest.skip("mkdocs not installed (pip install -e '.[docs]')")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for page in ("index.html", "ODD/index.html", "api/index.html", "findings/index.html"):
        assert (tmp_path / page).exists(), page
    api = (tmp_path / "api" / "index.html").read_text()
    assert "build_model" in api and "prim_box" in api  # mkdocstrings rendered the docstrings
    assert (tmp_path / "reference" / "study_small_miners" / "figures").is_dir()

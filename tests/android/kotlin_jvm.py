"""Compile the app's plain-Kotlin files with the system kotlinc and run them on this host's JVM."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from jinja2 import StrictUndefined, Template

from .helpers import FIXTURES

# The shipped files without android.* / LiteRT imports: everything the app does except the LiteRT call.
PLAIN_FILES = ("Model.kt", "Preprocess.kt", "Postprocess.kt", "ReportWriter.kt")
APT_HINT = "install the Debian packages `kotlin` and `openjdk-17-jdk-headless` (deps/apt-packages.txt, `make setup`)"


def tools() -> tuple[str, str]:
    """kotlinc and java, or a skip that says what to install (only when a tool is really absent)."""
    kotlinc, java = shutil.which("kotlinc"), shutil.which("java")
    if not kotlinc or not java:
        pytest.skip(f"{'kotlinc' if not kotlinc else 'java'} not on PATH: {APT_HINT}")
    return kotlinc, java


class Driver:
    """The compiled plain files plus tests/android/fixtures/kotlin/Driver.kt.j2 (one jar)."""

    def __init__(self, source_dir: Path, package: str, work: Path):
        kotlinc, self.java = tools()
        self.main_class = f"{package}.DriverKt"
        driver = work / "Driver.kt"
        template = Template((FIXTURES / "kotlin" / "Driver.kt.j2").read_text(), undefined=StrictUndefined,
                            keep_trailing_newline=True)
        driver.write_text(template.render(package=package))
        self.jar = work / "driver.jar"
        sources = [str(source_dir / name) for name in PLAIN_FILES] + [str(driver)]
        # No classpath but the Kotlin stdlib: an android.* or LiteRT import would fail right here.
        done = subprocess.run([kotlinc, *sources, "-include-runtime", "-d", str(self.jar)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not self.jar.is_file():
            raise AssertionError(f"kotlinc failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def __call__(self, *args) -> None:
        done = subprocess.run([self.java, "-cp", str(self.jar), self.main_class, *map(str, args)],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"the Kotlin driver failed on {args[0]} ({done.returncode}):\n{done.stderr}")

"""The package stage: an Android Studio project rendered from templates for the model's real facts."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from pipeline.android import project as proj
from pipeline.android.spec import build_spec, host_top1
from pipeline.atomic import sha256_file
from pipeline.errors import PipelineError

from .conftest import LABELS, MEAN, SHAPE, STD
from .helpers import balanced, kotlin_parse_errors
from .kotlin_jvm import PLAIN_FILES

PKG_DIR = "app/src/main/java/dev/pipeline/classifier"
TEST_DIR = "app/src/androidTest/java/dev/pipeline/classifier"
TEXT_SUFFIXES = (".kts", ".kt", ".xml", ".md", ".properties", ".gitignore")


def _project(packaged):
    return packaged.dir / "android"


def test_project_has_every_file(packaged):
    root = _project(packaged)
    for rel in ("settings.gradle.kts", "build.gradle.kts", "gradle.properties", ".gitignore",
                "gradle/wrapper/gradle-wrapper.properties", "app/build.gradle.kts",
                "app/src/main/AndroidManifest.xml", f"{PKG_DIR}/Classifier.kt",
                f"{PKG_DIR}/Model.kt", f"{PKG_DIR}/Preprocess.kt", f"{PKG_DIR}/Postprocess.kt",
                f"{PKG_DIR}/ReportWriter.kt",
                f"{TEST_DIR}/OnDeviceAccuracyTest.kt", f"{TEST_DIR}/RawRunTest.kt", "README.md",
                "app/src/main/assets/model_int8.tflite", "app/src/main/assets/labels.json",
                "app/src/main/assets/preprocess.json", "app/src/androidTest/assets/test_x.bin",
                "app/src/androidTest/assets/test_y.bin", "app/src/androidTest/assets/host_top1.bin",
                "app/src/androidTest/assets/test_set.json"):
        assert (root / rel).is_file(), rel
    assert packaged.meta["publish"] == {"android": "android"}  # -> build/<target>/android/


def test_every_text_file_comes_from_a_template_and_names_the_model(packaged, tiny):
    root, sha = _project(packaged), sha256_file(tiny["model"])
    rendered = {str(proj._dest(n, proj.DEFAULT_PACKAGE)) for n in proj.template_names()}
    text_files = {p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name.endswith(TEXT_SUFFIXES)}
    assert text_files == rendered  # no code or build file is produced outside a template
    for rel in text_files:
        head = "\n".join((root / rel).read_text().splitlines()[:3])
        assert f"generated from {sha}" in head, rel
    for rel in ("app/src/main/assets/preprocess.json", "app/src/main/assets/labels.json",
                "app/src/androidTest/assets/test_set.json"):
        assert json.loads((root / rel).read_text())["generated_from"] == sha


def test_kotlin_and_gradle_parse(packaged):
    root = _project(packaged)
    sources = sorted(root.rglob("*.kt")) + sorted(root.rglob("*.kts"))
    assert len(sources) == 10
    for path in sources:
        text = path.read_text()
        assert balanced(text), path
        errors = kotlin_parse_errors(text)
        if errors is None:
            pytest.skip("tree-sitter-kotlin not installed: only bracket balance was checked")
        assert errors == [], f"{path.name}: {errors}"


def test_kotlin_holds_the_model_facts(packaged, tiny):
    kt = (_project(packaged) / PKG_DIR / "Model.kt").read_text()
    spec = packaged.meta["preprocess"]
    assert "val INPUT_SHAPE = intArrayOf(2, 4, 4)" in kt
    assert "val MODEL_INPUT_SHAPE = intArrayOf(1, 4, 4, 2)" in kt  # the int8 model is channels-last
    assert "val MEAN = floatArrayOf(5.0e-1f)" in kt and "val STD = floatArrayOf(2.5e-1f)" in kt
    scale = float(re.search(r"const val INPUT_SCALE = (\S+)f", kt)[1])
    assert np.float32(scale) == np.float32(spec["input"]["scale"])  # round-trips to the exact float32
    assert f"const val INPUT_ZERO_POINT = {spec['input']['zero_point']}" in kt
    assert f"const val OUTPUT_ZERO_POINT = {spec['output']['zero_point']}" in kt
    assert "const val NUM_CLASSES = 3" in kt
    assert '"left",' in kt and r'"say \"hi\" \$x",' in kt and '"none"' in kt  # escaped, in order
    assert f'const val SHA256 = "{sha256_file(tiny["model"])}"' in kt


def test_plain_files_import_nothing_from_android_and_the_app_calls_them(packaged):
    """test_kotlin_jvm runs these files on a JVM: that proves the app only while they stay free of
    Android imports and the app calls them instead of keeping its own copy of the maths."""
    root = _project(packaged)
    for name in PLAIN_FILES:
        imports = re.findall(r"^import (\S+)", (root / PKG_DIR / name).read_text(), re.M)
        assert all(i.startswith(("kotlin.", "java.")) for i in imports), (name, imports)
    classifier = (root / PKG_DIR / "Classifier.kt").read_text()
    for call in ("Preprocess.prepare(normalized)", "Postprocess.dequantize(outputBytes)", "Preprocess.normalize(raw)",
                 "Postprocess.topK("):
        assert call in classifier, call
    assert "floor(" not in classifier and "OUTPUT_SCALE *" not in classifier  # no second copy of the maths
    on_device = (root / f"{TEST_DIR}/OnDeviceAccuracyTest.kt").read_text()
    assert "Postprocess.argmax(scores)" in on_device and "ReportWriter.report(" in on_device
    assert "JSONObject" not in on_device  # the phone writes ReportWriter's JSON (test_kotlin_jvm)


def test_gradle_pins_litert_and_the_manifest_package(packaged):
    root = _project(packaged)
    app = (root / "app/build.gradle.kts").read_text()
    assert 'implementation("com.google.ai.edge.litert:litert:1.4.2")' in app
    assert 'namespace = "dev.pipeline.classifier"' in app
    assert 'noCompress += "tflite"' in app
    assert 'testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"' in app
    root_build = (root / "build.gradle.kts").read_text()
    assert 'id("com.android.application") version "8.7.3" apply false' in root_build
    assert "gradle-8.10.2-bin.zip" in (root / "gradle/wrapper/gradle-wrapper.properties").read_text()
    readme = (root / "README.md").read_text()
    for needle in ("./gradlew connectedAndroidTest", "adb exec-out run-as dev.pipeline.classifier cat files/",
                   "connected_android_test_additional_output", proj.REPORT_FILE):
        assert needle in readme


def test_preprocess_json_and_test_vectors(packaged, tiny):
    root = _project(packaged)
    spec = json.loads((root / "app/src/main/assets/preprocess.json").read_text())
    assert spec["input_shape"] == list(SHAPE) and spec["model_input_shape"] == [1, 4, 4, 2]
    assert spec["transpose"] == [1, 2, 0] and spec["layout"] == "image"
    assert spec["normalization"]["mean"] == [MEAN] and spec["normalization"]["std"] == [STD]
    assert spec["input"]["dtype"] == "int8" and isinstance(spec["input"]["zero_point"], int)
    assert json.loads((root / "app/src/main/assets/labels.json").read_text())["labels"] == LABELS
    assets = root / "app/src/androidTest/assets"
    x = np.frombuffer((assets / "test_x.bin").read_bytes(), "<f4").reshape(-1, *SHAPE)
    y = np.frombuffer((assets / "test_y.bin").read_bytes(), "<i4")
    np.testing.assert_array_equal(x, tiny["x_test"].astype(np.float32))
    np.testing.assert_array_equal(y, tiny["y_test"])
    assert (root / "app/src/main/assets/model_int8.tflite").read_bytes() == tiny["model"].read_bytes()


def test_host_accuracy_is_recorded_and_bundled(packaged, tiny):
    spec = packaged.meta["preprocess"]
    top = host_top1(tiny["model"], tiny["x_test"], spec)
    assert packaged.meta["host_accuracy"] == pytest.approx(float(np.mean(top == tiny["y_test"])))
    assert 0.6 < packaged.meta["host_accuracy"] < 1.0  # learned, yet makes mistakes for the proxy to match
    bundled = np.frombuffer((_project(packaged) / "app/src/androidTest/assets/host_top1.bin").read_bytes(), "<i4")
    np.testing.assert_array_equal(bundled, top)


def test_float_model_is_refused(tmp_path, tiny):
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()

    m = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Flatten(), keras.layers.Dense(3)])
    path = tmp_path / "float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    with pytest.raises(PipelineError, match="full-int8"):
        build_spec(path, tiny["inputs"]["data"].meta)


@pytest.mark.parametrize("name", ["Dev.Pipeline", "pipeline", "dev.class.x", "dev..x"])
def test_bad_package_names_are_one_line_errors(name):
    with pytest.raises(PipelineError, match="not a valid application id"):
        proj.check_package(name)


def test_wrong_label_count_is_refused(tiny):
    meta = {**tiny["inputs"]["data"].meta, "labels": ["a", "b"]}
    with pytest.raises(PipelineError, match="2 labels"):
        build_spec(tiny["model"], meta)

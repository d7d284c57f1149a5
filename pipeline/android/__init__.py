"""Android (kind 'android'): the app project, the phone over adb, and the emulated arm64 proxy.

    spec.py        what the phone must do to an input: normalisation, layout, int8 quantisation
    project.py     the Android Studio project, rendered only from templates/ (+ the data assets)
    benchmark.py   parser for the official LiteRT `benchmark_model` text output
    adb.py         adb command lines (argument lists), device selection, one-line errors
    phone.py       `--device adb[://SERIAL]`: benchmark_model latency + instrumentation accuracy
    proxy.py       `--device emulator`: the same int8 model under the emulated arm64 Linux
"""

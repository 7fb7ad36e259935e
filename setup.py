"""Installer for the msrs package.

The exact, tested versions live in ``tools/constraints.txt``; ``make -C tools``
installs this package into ``tools/venv`` against that lock.  The bounds below
are the ones the code is written for (see README, "Dependencies").
"""

from setuptools import find_packages, setup

install_requires = [
    # ESPnet 202511 pins setuptools<74, which rules out torch>=2.13 in one resolve.
    "torch>=2.8,<2.13",
    # espnet2.tasks.asr imports torchaudio unconditionally (BEATs encoder).
    "torchaudio>=2.8,<2.12",
    "espnet==202511",
    "einops",
    "numpy>=2.0",
    "av>=14",
    "kaldiio>=2.18",
    "soundfile",
    "scipy",
    "sentencepiece==0.2.0",
    "humanfriendly",
    "typeguard>=4.1",
    "PyYAML",
    "tqdm",
    "matplotlib",
    "tensorboard",
    "jiwer>=3.0",
    "scikit-image>=0.22",
    "espeakng-loader==0.2.4",
    "mediapipe==1.2.3",
    "opencv-contrib-python",
]

setup(
    name="msrs",
    version="0.1.0",
    description=(
        "Lip-reading, audio and audio-visual speech recognition trained from scratch "
        "with MSRS sparse mask optimization, on top of ESPnet"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["msrs", "msrs.*"]),
    package_data={"msrs": ["py.typed"]},
    python_requires=">=3.11",
    install_requires=install_requires,
    extras_require={"test": ["pytest>=8", "pytest-timeout"]},
)

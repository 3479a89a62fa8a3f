#!/usr/bin/env python3
"""Build the offline SRGAN training corpus of natural photographs (issue #16).

What: copies a curated list of photographs (the `CURATED` table below) into
``OUT/train`` and ``OUT/val`` and writes a manifest, ``corpus.json``, with the
source package and version, the path inside the package, the licence, the
sha256, the size, a content tag and an optional "sharp region" crop box.

Why: the photos that ship in pip packages (scikit-image, scikit-learn,
matplotlib) are too few to train on. Debian's wallpaper and game-data packages
hold dozens more freely licensed photographs, and they come from a package
registry, so the corpus can be rebuilt on any Debian machine without browsing
the web.

How: Debian photos are fetched with ``apt-get download <pkg>=<version>`` into a
temporary folder and unpacked there with ``dpkg-deb -x`` (nothing is
installed). Python-package photos are read from the installed packages. Each
file is copied byte for byte (originals, no re-encoding, no resizing: training
code crops and downscales) and checked against the sha256 in the table. The
script is idempotent: files already present with the right sha256 are kept,
and packages whose files are all present are not downloaded again.

Excluded on purpose: OpenCV's sample images (reserved for independent
evaluation), the app's held-out photos (astronaut, chelsea, coffee,
grace_hopper: listed in the manifest with split "heldout", never copied), the
classic SR test images (Set5/Set14/BSD: baboon, lena, peppers, ...), renders,
abstract art and vector illustrations. See docs/dataset_card.md.

Tests and CI never depend on this script or on the corpus.

Usage:
    python tools/build_corpus.py --out /work/data/corpus
    python tools/build_corpus.py --out DIR --debs DIR_WITH_DEBS   # no apt-get
    python tools/build_corpus.py --out DIR --card docs/dataset_card.md

Exit status: 0 on success; on any error one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Debian packages (bookworm) and the version the sha256 values below were taken from.
DEB_VERSIONS = {
    "mate-backgrounds": "1.26.0-1",
    "palapeli-data": "4:22.12.3-1",
    "lomiri-wallpapers-16.04": "20.04.0-2",
    "lomiri-wallpapers-20.04": "20.04.0-2",
    "plasma-workspace-wallpapers": "4:5.27.5-2",
}
# Python module -> distribution name (for the version).
PY_DISTS = {"skimage": "scikit-image", "sklearn": "scikit-learn", "matplotlib": "matplotlib"}

_MATE = "usr/share/backgrounds/mate/nature/"
_PALA = "usr/share/palapeli/collection/"
_LOM = "usr/share/backgrounds/"
_KDE = "usr/share/wallpapers/"
_KDE_IMG = "/contents/images/2560x1600.jpg"
_PLASMA_LIC = "LGPL-3.0 (metadata.json); GPL-2+ (debian/copyright)"


@dataclass(frozen=True)
class Entry:
    """One curated photo. `package` is a Debian package or an importable Python module."""

    name: str
    split: str  # "train", "val" or "heldout" (heldout: recorded, never copied)
    tag: str
    package: str
    path: str  # inside the package (.deb root or Python package folder)
    licence: str
    author: str
    sha256: str
    crop: tuple[int, int, int, int] | None = None  # sharp region [left, top, right, bottom]

    @property
    def source(self) -> str:
        """Either apt (a Debian package) or python (an installed Python package)."""
        return "apt" if self.package in DEB_VERSIONS else "python"


def _e(name, split, tag, package, path, licence, author, sha, crop=None) -> Entry:
    """Short constructor for the table."""
    return Entry(name, split, tag, package, path, licence, author, sha, crop)


# fmt: off
CURATED: list[Entry] = [
    # --- mate-backgrounds, nature/ (GPL-2+, authors from debian/copyright) ---
    _e("mate_aqua", "train", "water splash", "mate-backgrounds", _MATE + "Aqua.jpg", "GPL-2+", "Charles Barbin", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce", (1300, 350, 2300, 1500)),
    _e("mate_blinds", "train", "foliage (leaf veins)", "mate-backgrounds", _MATE + "Blinds.jpg", "GPL-2+", "Lennart Poettering", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600"),
    _e("mate_dune", "train", "grass, sea", "mate-backgrounds", _MATE + "Dune.jpg", "GPL-2+", "Marco Cogoni", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91"),
    _e("mate_freshflower", "train", "flower macro", "mate-backgrounds", _MATE + "FreshFlower.jpg", "GPL-2+", "Jens Ansorg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e"),
    _e("mate_garden", "train", "flower macro", "mate-backgrounds", _MATE + "Garden.jpg", "GPL-2+", "Charles Barbin", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78", (900, 350, 2560, 1450)),
    _e("mate_greenmeadow", "train", "grass", "mate-backgrounds", _MATE + "GreenMeadow.jpg", "GPL-2+", "Timothy Schellhase", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832"),
    _e("mate_ladybird", "train", "insect, foliage", "mate-backgrounds", _MATE + "LadyBird.jpg", "GPL-2+", "Charles Barbin", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d"),
    _e("mate_raindrops", "val", "foliage, water drops", "mate-backgrounds", _MATE + "RainDrops.jpg", "GPL-2+", "blackcombwhistler07", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16"),
    _e("mate_twowings", "train", "seed fluff macro", "mate-backgrounds", _MATE + "TwoWings.jpg", "GPL-2+", "Charles Barbin", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb", (800, 350, 2400, 1600)),
    _e("mate_wood", "train", "wood grain", "mate-backgrounds", _MATE + "Wood.jpg", "GPL-2+", "Jean-François Fortin Tam", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07", (0, 700, 2560, 1250)),
    _e("mate_yellowflower", "train", "flower macro", "mate-backgrounds", _MATE + "YellowFlower.jpg", "GPL-2+", "Charles Barbin", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306"),
    # --- palapeli-data jigsaw photos (Wikimedia Commons; licence from each .desktop file) ---
    _e("palapeli_castle", "val", "architecture", "palapeli-data", _PALA + "castle-maintenon.jpg", "GFDL (castle-maintenon.desktop)", "Eric Pouhier", "f4a6bf48b97d97715413f9ebd2d8744bd46df0e492bc8326e2513d51084f2612"),
    _e("palapeli_bridge", "train", "architecture, night lights", "palapeli-data", _PALA + "cincinnati-bridge.jpg", "public domain (cincinnati-bridge.desktop)", "Derek Jensen", "09772d09318b34a5c5edd58ee86ff462bcd2907006f31cc8e0704310f8e9ab60"),
    _e("palapeli_citrus", "train", "food (fruit slices)", "palapeli-data", _PALA + "citrus-fruits.jpg", "public domain (citrus-fruits.desktop)", "US Department of Agriculture", "0cbd7154a14789803167c86705130d0358875198231269df168ea26224e70848"),
    _e("palapeli_bee", "val", "insect, flower", "palapeli-data", _PALA + "european-honey-bee.jpg", "public domain (european-honey-bee.desktop)", "John Severns", "9d54ae706bddd899c91b2b801d9ca4556a5a9a399b4043f9d539df62a8cb7f27"),
    _e("palapeli_chameleon", "train", "reptile skin, foliage", "palapeli-data", _PALA + "panther-chameleon-female.jpg", "GFDL (panther-chameleon-female.desktop)", "B. Navez and others", "adb9e2834a8a3db40ca3817452b956ada527085e5aa2bd604c465651a3834ae4"),
    # --- lomiri-wallpapers-16.04 / -20.04 (licences per file in debian/copyright) ---
    _e("lomiri_bridge", "train", "cables, sky, beach", "lomiri-wallpapers-16.04", _LOM + "Bridge_by_Sander_Klootwijk.jpg", "CC-BY-SA-4.0", "Sander Klootwijk", "bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050"),
    _e("lomiri_dragonfly", "train", "foliage, sky", "lomiri-wallpapers-16.04", _LOM + "Dragonfly_by_Bolly.jpg", "CC-BY-SA-4.0", "Bolly", "af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3"),
    _e("lomiri_fig", "train", "food, concrete", "lomiri-wallpapers-16.04", _LOM + "Picture_0B_by_freespace.jpg", "CC-BY-4.0", "Trevor 'Freespace'", "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad"),
    _e("lomiri_brushes", "val", "bristles, paint", "lomiri-wallpapers-16.04", _LOM + "Picture_1A_by_freespace.jpg", "CC-BY-4.0", "Trevor 'Freespace'", "89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b"),
    _e("lomiri_wine", "train", "interior, objects", "lomiri-wallpapers-16.04", _LOM + "Wine_by_Jakkub_Mede.jpg", "CC-BY-4.0", "Jakub Mede", "d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74"),
    _e("lomiri_aitzgorri", "train", "landscape, mountains", "lomiri-wallpapers-16.04", _LOM + "aitzgorri_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi", "66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36"),
    _e("lomiri_free", "train", "interior, lamp", "lomiri-wallpapers-16.04", _LOM + "free_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0", "Peter Nerlich", "85a5453c2fed514c75973016f3d862aca62eb7ca087618822469274ac1092373"),
    _e("lomiri_friends", "train", "fur (dogs), wood", "lomiri-wallpapers-16.04", _LOM + "friends_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi", "cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d"),
    _e("lomiri_clock", "train", "object (clock face)", "lomiri-wallpapers-16.04", _LOM + "greentock_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0", "Peter Nerlich", "e7b20e2db9dcd6e2b278ca55873c2110b35d89cd38b04d0b18728726888e6889"),
    _e("lomiri_life", "val", "landscape, stream, rocks", "lomiri-wallpapers-16.04", _LOM + "life_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi", "4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05"),
    _e("lomiri_picos", "train", "landscape, mountains", "lomiri-wallpapers-16.04", _LOM + "picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi", "414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a"),
    _e("lomiri_seeding", "train", "dandelions, grass", "lomiri-wallpapers-16.04", _LOM + "seeding_by_Clements_Engelhardt.jpg", "CC0-1.0", "Clemens Engelhardt", "a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f", (700, 200, 2550, 1800)),
    _e("lomiri_sunset", "train", "landscape, sun", "lomiri-wallpapers-16.04", _LOM + "sunset_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi", "474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18"),
    _e("lomiri_kleiber", "train", "tree bark, bird", "lomiri-wallpapers-20.04", _LOM + "Kleiber_by_Lukas_Baubkus.jpg", "CC-BY-SA-3.0", "Lukas Baubkus", "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7", (0, 0, 3200, 3391)),
    # --- plasma-workspace-wallpapers (photos only; authors from metadata.json) ---
    _e("plasma_bythewater", "train", "wood planks, water", "plasma-workspace-wallpapers", _KDE + "BytheWater" + _KDE_IMG, _PLASMA_LIC, "Maciej Wiklo", "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f", (0, 1000, 2560, 1600)),
    _e("plasma_coldripple", "train", "pier, fog (greyscale)", "plasma-workspace-wallpapers", _KDE + "ColdRipple" + _KDE_IMG, _PLASMA_LIC, "Risto Saukonpää", "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f", (0, 750, 2560, 1600)),
    _e("plasma_colorfulcups", "train", "objects, repeated pattern", "plasma-workspace-wallpapers", _KDE + "ColorfulCups" + _KDE_IMG, _PLASMA_LIC, "Dmitri Popov", "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d"),
    _e("plasma_eveningglow", "train", "boats, lake, sky", "plasma-workspace-wallpapers", _KDE + "EveningGlow" + _KDE_IMG, _PLASMA_LIC, "Ian Hex", "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a"),
    _e("plasma_fallenleaf", "train", "autumn leaves", "plasma-workspace-wallpapers", _KDE + "FallenLeaf" + _KDE_IMG, _PLASMA_LIC, "Martin Klapetek", "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de", (1400, 500, 2400, 1400)),
    _e("plasma_grey", "train", "architecture (greyscale facade)", "plasma-workspace-wallpapers", _KDE + "Grey" + _KDE_IMG, _PLASMA_LIC, "Sigi Sagi", "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed"),
    _e("plasma_onestandsout", "train", "foliage (moss)", "plasma-workspace-wallpapers", _KDE + "OneStandsOut" + _KDE_IMG, _PLASMA_LIC, "Risto Saukonpää", "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd"),
    _e("plasma_path", "train", "forest", "plasma-workspace-wallpapers", _KDE + "Path" + _KDE_IMG, _PLASMA_LIC, "Risto Saukonpää", "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8"),
    # --- Python packages (the corpus keeps its own copy) ---
    _e("skimage_rocket", "train", "rocket launch", "skimage", "data/rocket.jpg", "public domain (SpaceX)", "SpaceX", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
    _e("skimage_motorcycle_left", "train", "objects, indoor", "skimage", "data/motorcycle_left.png", "BSD-3-Clause (scikit-image); Middlebury 2014 stereo data", "Scharstein et al., Middlebury College", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179"),
    _e("skimage_brick", "train", "texture, brick (greyscale)", "skimage", "data/brick.png", "CC0", "CC0Textures", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf"),
    _e("skimage_grass", "train", "texture, grass (greyscale)", "skimage", "data/grass.png", "CC0", "linolafett (DeviantArt)", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89"),
    _e("skimage_gravel", "train", "texture, gravel (greyscale)", "skimage", "data/gravel.png", "CC0", "CC0Textures", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12"),
    _e("sklearn_china", "train", "architecture", "sklearn", "datasets/images/china.jpg", "CC-BY-2.0", "danielbuechele (Flickr)", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"),
    _e("sklearn_flower", "train", "flower", "sklearn", "datasets/images/flower.jpg", "CC-BY-2.0", "vultilion (Flickr)", "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638"),
    # --- the app's held-out examples: recorded, never copied into train/val ---
    _e("astronaut", "heldout", "face, person", "skimage", "data/astronaut.png", "public domain (NASA)", "NASA", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    _e("chelsea", "heldout", "fur (cat)", "skimage", "data/chelsea.png", "CC0", "Stéfan van der Walt", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
    _e("coffee", "heldout", "food, tableware", "skimage", "data/coffee.png", "CC0", "Rachel Michetti", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
    _e("grace_hopper", "heldout", "face, person", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy)", "US Navy", "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
]
# fmt: on


class CorpusError(Exception):
    """Any failure that should end the run with one line and exit status 2."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image, read from its header."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise CorpusError("Pillow is needed to read image sizes (pip install pillow)") from exc
    Image.MAX_IMAGE_PIXELS = None  # our own, trusted files; some are ~20 Mpx
    with Image.open(path) as im:
        return im.size


def dest_path(out: Path, e: Entry) -> Path:
    """Where an entry is stored in the corpus: OUT/<split>/<name><original extension>."""
    return out / e.split / (e.name + Path(e.path).suffix.lower())


def is_present(out: Path, e: Entry) -> bool:
    """True when the entry is already in the corpus with the expected sha256."""
    p = dest_path(out, e)
    return p.is_file() and sha256_of(p) == e.sha256


def run(cmd: list[str], cwd: Path | None = None) -> str:
    """Run a command, return stdout; raise CorpusError with its last stderr line on failure."""
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise CorpusError(f"{cmd[0]} not found") from exc
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise CorpusError(f"{' '.join(cmd)} failed: {last}")
    return res.stdout


def download_deb(pkg: str, workdir: Path) -> Path:
    """apt-get download the pinned version of `pkg` (or, failing that, the candidate) into workdir."""
    if shutil.which("apt-get") is None:
        raise CorpusError(
            "apt-get is unavailable: run on Debian/Ubuntu, or download the .deb files "
            f"({', '.join(DEB_VERSIONS)}) elsewhere and pass --debs DIR"
        )
    try:
        run(["apt-get", "download", f"{pkg}={DEB_VERSIONS[pkg]}"], cwd=workdir)
    except CorpusError:
        print(f"  {pkg} {DEB_VERSIONS[pkg]} not in the apt lists; trying the candidate version")
        run(["apt-get", "download", pkg], cwd=workdir)
    return find_deb(pkg, workdir)


def find_deb(pkg: str, folder: Path) -> Path:
    """The newest-named <pkg>_*.deb in folder."""
    debs = sorted(folder.glob(f"{pkg}_*.deb"))
    if not debs:
        raise CorpusError(f"no {pkg}_*.deb in {folder}")
    return debs[-1]


def extract_deb(deb: Path, workdir: Path) -> tuple[Path, str]:
    """dpkg-deb -x the package into workdir/<pkg>; return (root, version)."""
    if shutil.which("dpkg-deb") is None:
        raise CorpusError("dpkg-deb is unavailable: install dpkg or run on Debian/Ubuntu")
    root = workdir / deb.name.split("_")[0]
    root.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-x", str(deb), str(root)])
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    return root, version


def python_root(module: str) -> tuple[Path, str]:
    """(installed package folder, distribution version) of a Python module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise CorpusError(f"Python package {module} ({PY_DISTS[module]}) is not installed")
    return Path(spec.origin).parent, importlib.metadata.version(PY_DISTS[module])


def copy_checked(src: Path, dst: Path, e: Entry) -> None:
    """Copy src to dst byte for byte, after checking src has the curated sha256."""
    if not src.is_file():
        raise CorpusError(f"{e.package} has no file {e.path}")
    got = sha256_of(src)
    if got != e.sha256:
        raise CorpusError(f"{e.name}: sha256 {got[:12]} != curated {e.sha256[:12]} ({e.package} changed?)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def old_versions(manifest: Path) -> dict[str, str]:
    """name -> version from a previous manifest (so skipped packages keep their recorded version)."""
    if not manifest.is_file():
        return {}
    try:
        return {d["name"]: d["version"] for d in json.loads(manifest.read_text())["photos"]}
    except (ValueError, KeyError, TypeError):
        return {}


def package_roots(needed: set[str], workdir: Path, debs: Path | None) -> dict[str, tuple[Path, str]]:
    """Fetch (or locate) and unpack each needed package: name -> (root folder, version)."""
    roots: dict[str, tuple[Path, str]] = {}
    for pkg in sorted(needed):
        if pkg in PY_DISTS:
            roots[pkg] = python_root(pkg)
            continue
        print(f"  fetching {pkg}")
        deb = find_deb(pkg, debs) if debs else download_deb(pkg, workdir)
        roots[pkg] = extract_deb(deb, workdir)
    return roots


def collect(out: Path, workdir: Path, debs: Path | None) -> dict[str, str]:
    """Copy every missing train/val photo into out; return name -> package version."""
    versions = old_versions(out / "corpus.json")
    missing = [e for e in CURATED if e.split != "heldout" and not is_present(out, e)]
    heldout = [e for e in CURATED if e.split == "heldout"]
    needed = {e.package for e in missing} | {e.package for e in heldout}
    roots = package_roots(needed, workdir, debs)
    for e in missing:
        root, _ = roots[e.package]
        copy_checked(root / e.path, dest_path(out, e), e)
        print(f"  copied {e.name}")
    for e in heldout:  # recorded for the manifest; checked, never copied
        root, _ = roots[e.package]
        if sha256_of(root / e.path) != e.sha256:
            raise CorpusError(f"held-out {e.name}: sha256 differs from the curated value")
    for pkg, (_, version) in roots.items():
        versions.update({e.name: version for e in CURATED if e.package == pkg})
    for e in CURATED:  # present from an earlier run and no old manifest: fall back to the pin
        versions.setdefault(e.name, DEB_VERSIONS.get(e.package, "unknown"))
    return versions


def manifest_record(out: Path, e: Entry, version: str) -> dict:
    """The corpus.json record of one entry."""
    if e.split == "heldout":
        root, _ = python_root(e.package)
        w, h = image_size(root / e.path)
        file = None
    else:
        w, h = image_size(dest_path(out, e))
        file = str(dest_path(out, e).relative_to(out))
    return {
        "name": e.name,
        "split": e.split,
        "source": e.source,
        "package": e.package,
        "version": version,
        "path": e.path,
        "file": file,
        "licence": e.licence,
        "author": e.author,
        "sha256": e.sha256,
        "width": w,
        "height": h,
        "tag": e.tag,
        "crop": list(e.crop) if e.crop else None,
    }


def write_manifest(records: list[dict], paths: list[Path]) -> None:
    """Write corpus.json (same content) to each path."""
    doc = {
        "description": "SRGAN Studio offline training corpus (issue #16); built by tools/build_corpus.py",
        "crop": "optional [left, top, right, bottom] of the sharp region of mostly-bokeh photos",
        "photos": records,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


CARD_HEAD = """# Dataset card: SRGAN Studio offline photo corpus

Built by `python tools/build_corpus.py --out /work/data/corpus` (issue #16); the manifest is
[`assets/corpus.json`](../assets/corpus.json). The photos themselves live outside the repository
(`<out>/train`, `<out>/val`), stored as the original file bytes (no re-encoding, no resizing).
Tests and CI never depend on this corpus.

**How the photos were chosen.** Every image comes from a package registry: Debian (bookworm)
wallpaper and game-data packages, fetched with `apt-get download` and unpacked with `dpkg-deb -x`,
and the photos that ship inside scikit-image and scikit-learn. Each candidate was looked at by eye;
only photographs were kept (no renders, abstract art, vector illustrations or logos), aiming for
varied content: foliage, flowers, insects, fur, skin/scales, wood and stone, architecture,
landscapes, water, objects and interiors. Near-duplicates were dropped (scikit-image's
`motorcycle_right` is the stereo twin of `motorcycle_left`; Plasma wallpapers ship one photo at many
resolutions, the 2560x1600 original is used). Many wallpapers are macro shots with heavy bokeh;
for those the manifest records a `crop` box `[left, top, right, bottom]` of the sharp region, to
sample training patches from. Validation photos (split `val`) were picked to span content types.

**What was excluded.** OpenCV's sample images (Debian `opencv-doc`, OpenCV `samples/data`) are
reserved for independent evaluation and are not used at all. The app's held-out examples
(scikit-image `astronaut`, `chelsea`, `coffee`; matplotlib `grace_hopper`) appear below with split
`heldout` only: they are never copied into train or val. The classic SR test images (Set5, Set14,
BSD: baboon/mandrill, lena, peppers, barbara, monarch, zebra, butterfly, bird, comic, ppt3,
foreman, ...) are not used anywhere. Also left out: photos that are almost entirely blur, fog or
empty sky, medical, microscopy and astronomy images (scikit-image `retina`, `ihc`,
`hubble_deep_field`), and whole packages that hold only renders or graphics.

Licences are as stated per file in each package's `/usr/share/doc/<pkg>/copyright` or, where the
upstream metadata is more specific, in the file's own metadata (`metadata.json` for Plasma, the
`.desktop` file for Palapeli). CC-BY and CC-BY-SA photos need attribution: the `author` field in the
manifest has it.

"""


def write_card(records: list[dict], path: Path) -> None:
    """Write the Markdown dataset card (prose + one table row per photo)."""
    rows = [
        "| name | split | tag | source package (version) | file in package | licence | sha256 | size |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        rows.append(
            f"| {r['name']} | {r['split']} | {r['tag']} | {r['package']} ({r['version']}) | "
            f"`{r['path']}` | {r['licence']} | `{r['sha256'][:12]}` | {r['width']}x{r['height']} |"
        )
    counts = {s: sum(r["split"] == s for r in records) for s in ("train", "val", "heldout")}
    mpx = sum(r["width"] * r["height"] for r in records if r["split"] != "heldout") / 1e6
    summary = (
        f"**Totals:** {counts['train']} train, {counts['val']} val "
        f"({mpx:.1f} Mpx), plus {counts['heldout']} held-out photos recorded but not copied.\n\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CARD_HEAD + summary + "\n".join(rows) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus folder (gets train/, val/, corpus.json)")
    ap.add_argument(
        "--manifest",
        type=Path,
        default=REPO / "assets" / "corpus.json",
        help="second copy of the manifest (default: assets/corpus.json in the repo)",
    )
    ap.add_argument("--debs", type=Path, default=None, help="use .deb files from this folder instead of apt-get")
    ap.add_argument("--card", type=Path, default=None, help="also (re)write the dataset card here")
    return ap.parse_args(argv)


def build(args: argparse.Namespace) -> list[dict]:
    """Fetch, copy, verify and write the manifest(s); return the records."""
    out = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="build_corpus_") as tmp:
        os.chmod(tmp, 0o777)  # apt-get drops to the _apt user for downloads
        versions = collect(out, Path(tmp), args.debs)
    records = [manifest_record(out, e, versions[e.name]) for e in CURATED]
    write_manifest(records, [out / "corpus.json", args.manifest])
    if args.card:
        write_card(records, args.card)
    return records


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 on success, 2 (with one line on stderr) on error."""
    args = parse_args(argv)
    try:
        records = build(args)
    except (CorpusError, OSError) as exc:
        print(f"build_corpus: error: {exc}", file=sys.stderr)
        return 2
    used = [r for r in records if r["split"] != "heldout"]
    mpx = sum(r["width"] * r["height"] for r in used) / 1e6
    n_val = sum(r["split"] == "val" for r in used)
    print(f"corpus: {len(used) - n_val} train + {n_val} val photos, {mpx:.1f} Mpx, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

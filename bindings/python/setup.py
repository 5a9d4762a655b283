"""Builds the libchat Python package: the pure-Python sources plus libchat_c, the shared library they load.

The library is taken from the file named by $LIBCHAT_C_LIBRARY when that is set (e.g. the libchat_c of a CMake
build, so CI does not build libchat twice); otherwise it is built here with CMake from the repository root (two
directories up: pip >= 21.3 builds a local directory in place), target libchat_c only, in a temporary build
directory. Extra CMake arguments can be passed in $LIBCHAT_CMAKE_ARGS; the build uses
$CMAKE_BUILD_PARALLEL_LEVEL jobs (default: the number of CPUs).

The wheel is platform-specific (it carries a native library) but not tied to a Python version or ABI: ctypes
loads the library, nothing is compiled against Python.
"""

import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


def library_file_name() -> str:
    """The name the package loads the library by (libchat/_native.py)."""
    if sys.platform == "darwin":
        return "libchat_c.dylib"
    if sys.platform in ("win32", "cygwin"):
        return "chat_c.dll"
    return "libchat_c.so"


def build_library(build_dir: str) -> Path:
    """Configures libchat with only what libchat_c needs and builds that one target."""
    if not (REPO_ROOT / "CMakeLists.txt").is_file() or not (REPO_ROOT / "bindings" / "c").is_dir():
        sys.exit(f"libchat: {REPO_ROOT} is not the libchat source tree; build the package from a checkout "
                 "(pip install ./bindings/python) or set LIBCHAT_C_LIBRARY to a built libchat_c")
    cmake = shutil.which("cmake")
    if cmake is None:
        sys.exit("libchat: CMake (>= 3.21) is needed to build libchat_c; install it, or set LIBCHAT_C_LIBRARY")
    configure = [
        cmake, "-S", str(REPO_ROOT), "-B", build_dir,
        "-DCMAKE_BUILD_TYPE=Release",
        "-DLIBCHAT_BUILD_SERVER=OFF", "-DLIBCHAT_BUILD_TESTS=OFF", "-DLIBCHAT_BUILD_EXAMPLES=OFF",
        "-DLIBCHAT_BUILD_BENCH=OFF", "-DLIBCHAT_BUILD_BINDINGS=ON",
        "-DBUILD_SHARED_LIBS=OFF",
    ]
    if shutil.which("ninja") and not os.environ.get("CMAKE_GENERATOR"):
        configure += ["-G", "Ninja"]
    configure += shlex.split(os.environ.get("LIBCHAT_CMAKE_ARGS", ""))
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
    print("libchat: building libchat_c with CMake in", build_dir, flush=True)
    subprocess.run(configure, check=True)
    subprocess.run([cmake, "--build", build_dir, "--target", "libchat_c", "--config", "Release", "--parallel", jobs],
                   check=True)
    # Written by bindings/c/CMakeLists.txt, one per configuration (Release unless LIBCHAT_CMAKE_ARGS chose another):
    # the real file, whatever the platform calls it.
    locations = sorted(Path(build_dir).glob("libchat_c_location-*.txt"),
                       key=lambda path: path.name != "libchat_c_location-Release.txt")
    for location in locations:
        library = Path(location.read_text().strip())
        if library.is_file():
            return library
    sys.exit(f"libchat: the CMake build in {build_dir} produced no libchat_c")


class BuildPyWithLibrary(build_py):
    """build_py, plus libchat_c copied into the package next to _native.py."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            target = HERE / "src" / "libchat"  # pip install -e: the sources are the package
        else:
            target = Path(self.build_lib) / "libchat"
        target.mkdir(parents=True, exist_ok=True)
        explicit = os.environ.get("LIBCHAT_C_LIBRARY")
        if explicit:
            source = Path(explicit).resolve()  # follow libchat_c.so -> libchat_c.so.0.1.0
            if not source.is_file():
                sys.exit(f"libchat: LIBCHAT_C_LIBRARY={explicit} is not a file")
            self.copy_library(source, target)
            return
        with tempfile.TemporaryDirectory(prefix="libchat-c-build-") as build_dir:
            self.copy_library(build_library(build_dir).resolve(), target)

    @staticmethod
    def copy_library(source: Path, target_dir: Path) -> None:
        destination = target_dir / library_file_name()
        print(f"libchat: copying {source} -> {destination}", flush=True)
        shutil.copyfile(source, destination)
        destination.chmod(0o755)


class PlatformWheel(bdist_wheel):
    """Tag py3-none-<platform>: native code inside, but no Python ABI dependence."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


def scratch_dir(prefix: str) -> str:
    """setuptools' intermediate files go to a temporary directory, not into the source tree, so that builds from
    several build trees (or users) at once do not share them."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


setup(
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
    options={
        "build": {"build_base": scratch_dir("libchat-py-build-")},
        "egg_info": {"egg_base": scratch_dir("libchat-py-egg-")},
    },
)

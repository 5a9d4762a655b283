import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout


class LibchatTestConan(ConanFile):
    """Builds a consumer against the created package with find_package(libchat) and runs it."""
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["LIBCHAT_TEST_SERVER"] = bool(self.dependencies["libchat"].options.with_server)
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if not can_run(self):
            return
        # env="conanrun" puts the shared libraries of the package (shared=True) on the loader path.
        database = os.path.join(self.cpp.build.bindir, "test_package.db")
        for suffix in ("", "-wal", "-shm", ".key"):
            if os.path.exists(database + suffix):
                os.remove(database + suffix)
        self.run(f'{os.path.join(self.cpp.build.bindir, "test_package")} "{database}"', env="conanrun")
        if self.dependencies["libchat"].options.with_server:
            self.run(os.path.join(self.cpp.build.bindir, "test_package_server"), env="conanrun")

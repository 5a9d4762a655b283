"""Conan 2 recipe for libchat.

    conan create . --build=missing                                    # dependencies from ConanCenter
    conan create . -pr:a conan/profiles/debian12 --build=missing      # Debian 12 system packages, offline

Consumers: find_package(libchat CONFIG REQUIRED), then libchat::libchat (and libchat::server with the
default with_server=True). The version ranges below admit both ConanCenter's current releases and the
versions Debian 12 ships, so the same recipe resolves against either (see conan/profiles/debian12).
"""
import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class LibchatConan(ConanFile):
    name = "libchat"
    description = "Embeddable customer-messaging backend: accounts, apps, conversations, live events"
    topics = ("chat", "messaging", "customer-support", "embedded")
    package_type = "library"

    settings = "os", "arch", "compiler", "build_type"
    options = {
        "shared": [True, False],
        "fPIC": [True, False],
        # libchat::server (the HTTP/WebSocket server as a library) and the libchat-server executable.
        "with_server": [True, False],
    }
    default_options = {
        "shared": False,
        "fPIC": True,
        "with_server": True,
    }

    # Everything the top-level CMakeLists.txt reads at configure or build time (the server embeds web/ and
    # docs/openapi.json). tests/ is only built on request (see _build_tests), and then reads docs/ too.
    exports_sources = (
        "CMakeLists.txt",
        "cmake/*",
        "libchat/*",
        "server/*",
        "web/*",
        "docs/*",
        "bindings/c/*",
        "tests/*",
        "!tests/browser/node_modules/*",
        "LICENSE*",
    )

    def set_version(self):
        # One source of truth: project(libchat VERSION x.y.z) in the top-level CMakeLists.txt.
        if self.version:
            return
        cmakelists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        match = re.search(r"project\(\s*libchat\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", cmakelists)
        if not match:
            raise ConanException("libchat: no project(libchat VERSION x.y.z) in CMakeLists.txt")
        self.version = match.group(1)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The public headers expose no third-party type, except libchat/server/server.h, which includes
        # <asio/io_context.hpp>: asio's headers are passed on to consumers (transitive_headers).
        self.requires("sqlite3/[>=3.40.1 <4]")
        self.requires("openssl/[>=3.0 <4]")
        self.requires("libcurl/[>=7.88.1 <9]")
        self.requires("fmt/[>=9.1 <13]")
        self.requires("nlohmann_json/[>=3.11.2 <4]")
        # Debian 12 ships the 20171227 release; ConanCenter has 20190702. Both have the Argon2id API we use.
        self.requires("argon2/[>=20171227]")
        if self.options.with_server:
            self.requires("asio/[>=1.22.1 <2]", transitive_headers=True)

    def build_requirements(self):
        # The test suite accepts Catch2 v2 (Debian 12) and v3 (ConanCenter); see tests/catch.h.
        self.test_requires("catch2/[>=2.13.10 <4]")

    def validate(self):
        check_min_cppstd(self, 17)

    @property
    def _build_tests(self):
        # Opt-in (-c user.libchat:build_tests=True): the suite is long and links the libraries' internals,
        # so it needs the static build with the server, exactly as a plain CMake build does.
        return (self.conf.get("user.libchat:build_tests", default=False, check_type=bool)
                and not self.options.shared and bool(self.options.with_server))

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["LIBCHAT_BUILD_SERVER"] = bool(self.options.with_server)
        tc.cache_variables["LIBCHAT_BUILD_TESTS"] = self._build_tests
        tc.cache_variables["LIBCHAT_BUILD_EXAMPLES"] = False
        tc.cache_variables["LIBCHAT_BUILD_BENCH"] = False
        tc.cache_variables["LIBCHAT_BUILD_BINDINGS"] = False
        tc.cache_variables["LIBCHAT_INSTALL"] = True
        if self._build_tests:
            # Tells tests/ it runs inside a Conan build, so it does not register the packaging tests
            # (one of which is this very `conan create`).
            tc.cache_variables["LIBCHAT_CONAN_BUILD"] = True
        tc.generate()

        deps = CMakeDeps(self)
        # Under CMakeToolchain's CMAKE_FIND_PACKAGE_PREFER_CONFIG, find_package(Argon2) finds ConanCenter's
        # argon2-config.cmake (config names are matched case-insensitively) instead of cmake/FindArgon2.cmake,
        # so the target must carry the name libchat links to. Without argon2 from Conan (platform_requires)
        # nothing is generated and cmake/FindArgon2.cmake finds the system library.
        deps.set_property("argon2", "cmake_target_name", "Argon2::Argon2")
        deps.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()
        if self._build_tests and not self.conf.get("tools.build:skip_test", default=False, check_type=bool):
            # The unit, integration and fuzz-smoke tests. Not the browser test (it needs Chromium and npm
            # packages) nor the packaging tests (they install and re-package the tree).
            self.run('ctest --output-on-failure -j2 -R "^(unit|integration|fuzz-smoke):"', cwd=self.build_folder)

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # Conan consumers get their CMake and pkg-config files from CMakeDeps / PkgConfigDeps (package_info
        # below), which point at the Conan packages of the dependencies rather than at system ones.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    # The system libraries that stand for a dependency when a profile's [platform_requires] provides it
    # (conan/profiles/debian12); the header-only ones need nothing.
    _PLATFORM_LIBS = {
        "sqlite3": ["sqlite3"],
        "openssl": ["crypto"],
        "libcurl": ["curl"],
        "fmt": ["fmt"],
        "argon2": ["argon2"],
        "nlohmann_json": [],
        "asio": [],
    }

    def _add_requires(self, component, requires):
        """Adds `requires` ("pkg::component") to a component. A dependency that a profile's
        [platform_requires] provides is the system's, not a Conan package: CMakeDeps cannot refer to it
        (conan-io/conan#17348), so it is left out and, for the static libraries, which do not carry their
        dependencies, linked by name from the system."""
        for requirement in requires:
            package = requirement.split("::")[0]
            if package in self.dependencies:
                component.requires.append(requirement)
                continue
            ignored = getattr(self.cpp_info, "ignored_requires", None)
            if ignored is not None and package not in ignored:
                ignored.append(package)
            if not self.options.shared:
                component.system_libs.extend(lib for lib in self._PLATFORM_LIBS[package]
                                             if lib not in component.system_libs)

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "libchat")
        # pkg-config: libchat.pc is the core (as in a plain CMake install), libchat-server.pc the server.
        self.cpp_info.set_property("pkg_config_name", "libchat-all")

        core = self.cpp_info.components["libchat"]
        core.set_property("cmake_target_name", "libchat::libchat")
        core.set_property("pkg_config_name", "libchat")
        core.libs = ["chat"]
        self._add_requires(core, [
            "sqlite3::sqlite3",
            "openssl::crypto",
            "libcurl::curl",
            "fmt::fmt",
            "nlohmann_json::nlohmann_json",
            "argon2::argon2",
        ])
        if self.options.shared:
            core.defines = ["LIBCHAT_SHARED"]
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs.append("pthread")

        if self.options.with_server:
            server = self.cpp_info.components["server"]
            server.set_property("cmake_target_name", "libchat::server")
            server.set_property("pkg_config_name", "libchat-server")
            server.libs = ["chat_server"]
            server.requires = ["libchat"]
            self._add_requires(server, ["asio::asio", "openssl::crypto", "fmt::fmt", "nlohmann_json::nlohmann_json"])
            if "asio" not in self.dependencies:
                # What cmake/FindAsio.cmake gives the build for the system's standalone Asio.
                server.defines = ["ASIO_STANDALONE", "ASIO_NO_DEPRECATED"]
            if self.settings.os in ("Linux", "FreeBSD"):
                server.system_libs.append("pthread")

# "package: conan create": scripts/conan_create.sh creates the Conan package (shared) offline with the
# Debian 12 profile (conan/profiles/debian12) in a CONAN_HOME under the build tree, and its test_package
# builds, links and runs against it. Conan itself is installed from PyPI on first use; without network
# access to PyPI (and no Conan 2 venv in LIBCHAT_CONAN_VENV) the test fails and says why.
# Not registered when this tree is itself being built by `conan create` (the recipe runs the unit and
# integration tests only).
if(NOT LIBCHAT_CONAN_BUILD)
  find_program(LIBCHAT_BASH bash REQUIRED)
  add_test(NAME "package: conan create"
    COMMAND "${LIBCHAT_BASH}" "${PROJECT_SOURCE_DIR}/scripts/conan_create.sh" "${PROJECT_BINARY_DIR}/package-conan")
  # The package build compiles libchat once more with -j2: keep other tests off both cores meanwhile.
  set_tests_properties("package: conan create" PROPERTIES
    LABELS package TIMEOUT 1800 PROCESSORS 2)
endif()

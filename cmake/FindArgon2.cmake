# Finds the reference Argon2 library (libargon2) and defines Argon2::Argon2.
# Conan's argon2 package provides a config of its own; Debian ships libargon2-dev.
if(TARGET Argon2::Argon2)
  set(Argon2_FOUND TRUE)
  return()
endif()

find_package(argon2 CONFIG QUIET)
if(TARGET Argon2::Argon2)  # a config that already names it ours (libchat's conanfile.py renames Conan's)
  set(Argon2_FOUND TRUE)
  return()
endif()
if(TARGET argon2::argon2)
  add_library(Argon2::Argon2 INTERFACE IMPORTED)
  target_link_libraries(Argon2::Argon2 INTERFACE argon2::argon2)
  set(Argon2_FOUND TRUE)
  return()
endif()

find_path(Argon2_INCLUDE_DIR NAMES argon2.h)
find_library(Argon2_LIBRARY NAMES argon2)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Argon2 REQUIRED_VARS Argon2_LIBRARY Argon2_INCLUDE_DIR)

if(Argon2_FOUND)
  add_library(Argon2::Argon2 UNKNOWN IMPORTED)
  set_target_properties(Argon2::Argon2 PROPERTIES
    IMPORTED_LOCATION "${Argon2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Argon2_INCLUDE_DIR}")
endif()
mark_as_advanced(Argon2_INCLUDE_DIR Argon2_LIBRARY)

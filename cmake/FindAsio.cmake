# Finds standalone Asio (header-only) and defines asio::asio.
# Conan's asio package provides its own asio::asio; Debian's libasio-dev ships
# only headers, so this module fills the gap with the same target name.
if(TARGET asio::asio)
  set(Asio_FOUND TRUE)
  return()
endif()

find_package(asio CONFIG QUIET)
if(TARGET asio::asio)
  set(Asio_FOUND TRUE)
  return()
endif()

find_path(Asio_INCLUDE_DIR NAMES asio.hpp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Asio REQUIRED_VARS Asio_INCLUDE_DIR)

if(Asio_FOUND)
  find_package(Threads REQUIRED)
  add_library(asio::asio INTERFACE IMPORTED)
  set_target_properties(asio::asio PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${Asio_INCLUDE_DIR}")
  target_compile_definitions(asio::asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
  target_link_libraries(asio::asio INTERFACE Threads::Threads)
endif()
mark_as_advanced(Asio_INCLUDE_DIR)

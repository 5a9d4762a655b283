# Installation and the CMake package: what `cmake --install` puts where, and the
# files find_package(libchat) and pkg-config read. Included last by the top-level
# CMakeLists.txt, once every target exists.
include(CMakePackageConfigHelpers)

set(LIBCHAT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/libchat")
set(LIBCHAT_EXPORTED_TARGETS libchat)
set(LIBCHAT_EXPORTS_SERVER OFF)
if(TARGET libchat_server)
  list(APPEND LIBCHAT_EXPORTED_TARGETS libchat_server)
  set(LIBCHAT_EXPORTS_SERVER ON)
endif()
if(TARGET libchat_c)
  list(APPEND LIBCHAT_EXPORTED_TARGETS libchat_c)
endif()

if(LIBCHAT_INSTALL)
  install(TARGETS ${LIBCHAT_EXPORTED_TARGETS} EXPORT libchatTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/libchat/include/libchat" "${PROJECT_BINARY_DIR}/include/libchat"
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  if(LIBCHAT_EXPORTS_SERVER)
    install(DIRECTORY "${PROJECT_SOURCE_DIR}/server/include/libchat"
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  endif()
  if(TARGET libchat-server)
    install(TARGETS libchat-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
  install(EXPORT libchatTargets NAMESPACE libchat:: DESTINATION "${LIBCHAT_CMAKE_DIR}")
endif()

# libchatConfig.cmake and its version file, for the install tree and for the build
# tree (-Dlibchat_DIR=<build dir> uses the targets in place, nothing installed).
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/libchatConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/libchatConfig.cmake"
  INSTALL_DESTINATION "${LIBCHAT_CMAKE_DIR}")
# 0.x: a minor release may break the API, so only the same major.minor is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/libchatConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
if(LIBCHAT_INSTALL)
  export(EXPORT libchatTargets NAMESPACE libchat:: FILE "${PROJECT_BINARY_DIR}/libchatTargets.cmake")
else()
  export(TARGETS ${LIBCHAT_EXPORTED_TARGETS} NAMESPACE libchat:: FILE "${PROJECT_BINARY_DIR}/libchatTargets.cmake")
endif()
foreach(module FindArgon2.cmake FindAsio.cmake)
  configure_file("${PROJECT_SOURCE_DIR}/cmake/${module}" "${PROJECT_BINARY_DIR}/${module}" COPYONLY)
endforeach()

# pkg-config: libchat.pc describes the core (-lchat). `pkg-config --static --libs
# libchat` adds the private dependencies a static libchat needs at the final link.
# The prefix is found relative to the .pc file, so `cmake --install --prefix <dir>`
# (chosen after configuring) and moved trees work.
file(RELATIVE_PATH LIBCHAT_PC_PREFIX_FROM_PCFILEDIR "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(LIBCHAT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(LIBCHAT_PC_LIBDIR "\${exec_prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(LIBCHAT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(LIBCHAT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(LIBCHAT_PC_CFLAGS "")
if(BUILD_SHARED_LIBS)
  set(LIBCHAT_PC_CFLAGS " -DLIBCHAT_SHARED")
endif()
# The dependencies' shared libraries by name rather than Requires.private: with --static,
# pkg-config would otherwise also demand the static dependencies of libcurl & co.
set(LIBCHAT_PC_LIBS_PRIVATE "-lsqlite3 -lcurl -lcrypto -lfmt -largon2")
configure_file("${PROJECT_SOURCE_DIR}/cmake/libchat.pc.in" "${PROJECT_BINARY_DIR}/libchat.pc" @ONLY)

if(LIBCHAT_INSTALL)
  install(FILES "${PROJECT_BINARY_DIR}/libchatConfig.cmake" "${PROJECT_BINARY_DIR}/libchatConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/FindArgon2.cmake" "${PROJECT_SOURCE_DIR}/cmake/FindAsio.cmake"
    DESTINATION "${LIBCHAT_CMAKE_DIR}")
  install(FILES "${PROJECT_BINARY_DIR}/libchat.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()

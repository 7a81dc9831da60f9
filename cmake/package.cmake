# `make package` (cmake --build build --target package): a Debian package of
# the library (static, headers, CMake and pkg-config files) and the flyrpc CLI.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flyrpc)
set(CPACK_PACKAGE_VENDOR "The flyrpc authors")
set(CPACK_PACKAGE_CONTACT "The flyrpc authors <flyrpc@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}: run functions on a node of a chosen Fly.io region")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_LICENSE Apache-2.0)
# Dependencies by hand (no dpkg-shlibdeps, so no dpkg-dev needed): the
# headers' (header-only Asio, msgpack-cxx) and the static library's link
# dependencies, whose -dev packages bring the shared libraries the CLI uses.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libasio-dev, libmsgpack-cxx-dev, libssl-dev, libc-ares-dev, libspdlog-dev, libfmt-dev, pkg-config")
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the extended text
# (CPack indents each line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "flyrpc lets a C++ service deployed in several Fly.io regions
run a function on a node of a chosen region, above all the primary, blocking
until the result comes back or the call times out: the C++ counterpart of the
Elixir library Fly RPC. This package holds the library, its headers, its CMake
and pkg-config files, and the flyrpc command-line tool.")
# Without debug information: the CLI and the library are 140 MB with it.
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/strip_static.cmake)
# Only what `cmake --install` installs; tests and benchmarks are never installed.
include(CPack)

# What `cmake --install` puts where, and the two ways to find it again:
# find_package(flyrpc) (lib/cmake/flyrpc) and pkg-config (lib/pkgconfig/flyrpc.pc).
include(CMakePackageConfigHelpers)
install(DIRECTORY include/fly TYPE INCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/fly/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fly)
install(TARGETS flyrpc EXPORT flyrpcTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT flyrpcTargets NAMESPACE flyrpc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flyrpc)
configure_package_config_file(cmake/flyrpcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/flyrpcConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flyrpc)
# Before 1.0 a minor version may break the API: 0.2 accepts 0.2.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/flyrpcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/flyrpcConfig.cmake
  ${PROJECT_BINARY_DIR}/flyrpcConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flyrpc)

# flyrpc.pc. Relocatable: its prefix is found from the file's own place
# (${pcfiledir}), so a tree unpacked anywhere (dpkg -x, --prefix) works.
# A static libflyrpc needs its private dependencies on the consumer's link
# line, so they are in Requires/Libs then; a shared one hides them.
file(RELATIVE_PATH FLYRPC_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" FLYRPC_PC_TO_PREFIX "${FLYRPC_PC_TO_PREFIX}")
list(TRANSFORM FLYRPC_PUBLIC_DEFINITIONS PREPEND "-D" OUTPUT_VARIABLE FLYRPC_PC_DEFINITIONS)
list(JOIN FLYRPC_PC_DEFINITIONS " " FLYRPC_PC_DEFINITIONS)
get_target_property(FLYRPC_MSGPACK_DEFINITIONS msgpackc-cxx INTERFACE_COMPILE_DEFINITIONS)
if(FLYRPC_MSGPACK_DEFINITIONS)
  list(TRANSFORM FLYRPC_MSGPACK_DEFINITIONS PREPEND "-D")
  list(JOIN FLYRPC_MSGPACK_DEFINITIONS " " FLYRPC_MSGPACK_DEFINITIONS)
  string(APPEND FLYRPC_PC_DEFINITIONS " ${FLYRPC_MSGPACK_DEFINITIONS}")
endif()
if(BUILD_SHARED_LIBS)
  set(FLYRPC_PC_REQUIRES "")
  set(FLYRPC_PC_REQUIRES_PRIVATE "openssl libcares spdlog fmt")
else()
  set(FLYRPC_PC_REQUIRES "openssl libcares spdlog fmt")
  set(FLYRPC_PC_REQUIRES_PRIVATE "")
endif()
configure_file(cmake/flyrpc.pc.in ${PROJECT_BINARY_DIR}/flyrpc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/flyrpc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES LICENSE NOTICE CHANGELOG.md README.md TYPE DOC)

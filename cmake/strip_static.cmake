# CPack pre-build script (cmake/package.cmake): CPACK_STRIP_FILES strips the
# CLI, never a static archive, so the library's debug information (most of
# its size) is removed here, in the staging tree, keeping its symbols.
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(archive IN LISTS archives)
  execute_process(COMMAND strip --strip-debug "${archive}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${archive} failed (${rc})")
  endif()
endforeach()

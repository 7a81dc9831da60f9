# Run by ctest: proves the Debian package and both ways of finding flyrpc in it.
#  1. cpack builds the .deb from this build (what `make package` does);
#  2. dpkg -x unpacks it into an empty root (no dpkg database, no root needed);
#  3. examples/ is configured and built against that root with
#     find_package(flyrpc), and hello_regions compiled by hand with the flags
#     of `pkg-config flyrpc`; both programs run, and print the library version;
#  4. the packaged CLI prints the same version.
# Inputs: BUILD_DIR SOURCE_DIR WORK_DIR CXX VERSION.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  message(STATUS "${ARGV}\n${out}")
endfunction()
function(expect text pattern)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "expected to match '${pattern}', got:\n${text}")
  endif()
endfunction()

run(cpack -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/pkg)
file(GLOB debs ${WORK_DIR}/pkg/flyrpc_${VERSION}_*.deb)
list(LENGTH debs n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one flyrpc_${VERSION}_*.deb in ${WORK_DIR}/pkg, found: ${debs}")
endif()
run(dpkg-deb --field ${debs} Package Version Depends)
expect("${out}" "Package: flyrpc\nVersion: ${VERSION}\n")
run(dpkg-deb --contents ${debs})
foreach(path ./usr/bin/flyrpc ./usr/include/fly/node.hpp ./usr/include/fly/version.hpp
    ./usr/lib/libflyrpc.a ./usr/lib/cmake/flyrpc/flyrpcConfig.cmake ./usr/lib/pkgconfig/flyrpc.pc
    ./usr/share/doc/flyrpc/LICENSE)
  string(REPLACE "." "\\." re "${path}")
  expect("${out}" " ${re}\n")
endforeach()
if(out MATCHES "_test|bench|gtest")
  message(FATAL_ERROR "the package holds tests or benchmarks:\n${out}")
endif()
set(root ${WORK_DIR}/root)
run(dpkg-deb -x ${debs} ${root})

# find_package(flyrpc), as examples/CMakeLists.txt does.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${root}/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2 --target hello_regions)
run(${WORK_DIR}/build/hello_regions)
expect("${out}" "flyrpc ${VERSION} \\(headers ${VERSION}\\)")

# pkg-config: flyrpc.pc finds its prefix from its own place in the root.
set(ENV{PKG_CONFIG_PATH} ${root}/usr/lib/pkgconfig)
run(pkg-config --modversion flyrpc)
expect("${out}" "^${VERSION}\n")
run(pkg-config --cflags --libs flyrpc)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CXX} -std=c++20 -O1 ${SOURCE_DIR}/examples/hello_regions/main.cpp ${flags}
    -o ${WORK_DIR}/hello_regions_pkgconfig)
run(${WORK_DIR}/hello_regions_pkgconfig)
expect("${out}" "flyrpc ${VERSION} \\(headers ${VERSION}\\)")

run(${root}/usr/bin/flyrpc --version)
expect("${out}" "^flyrpc ${VERSION}\n")

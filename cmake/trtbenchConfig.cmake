# find_package(trtbench) for a C or C++ project (a ROS 2 package's CMakeLists.txt):
#   find_package(trtbench REQUIRED)
#   target_link_libraries(my_node trtbench::trtbench)
# Installed by scripts/capi-install.sh PREFIX as PREFIX/lib/cmake/trtbench/ beside
# PREFIX/lib/libtrtbench.so and PREFIX/include/trtbench.h; point CMAKE_PREFIX_PATH (or
# trtbench_DIR) at it.
get_filename_component(_trtbench_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(trtbench_INCLUDE_DIRS "${_trtbench_prefix}/include")
set(trtbench_LIBRARIES "${_trtbench_prefix}/lib/libtrtbench.so")
foreach(_f "${trtbench_INCLUDE_DIRS}/trtbench.h" "${trtbench_LIBRARIES}")
  if(NOT EXISTS "${_f}")
    set(trtbench_FOUND FALSE)
    set(trtbench_NOT_FOUND_MESSAGE "trtbench: ${_f} is missing (scripts/capi-install.sh PREFIX installs it)")
    return()
  endif()
endforeach()
if(NOT TARGET trtbench::trtbench)
  add_library(trtbench::trtbench SHARED IMPORTED)
  set_target_properties(trtbench::trtbench PROPERTIES
    IMPORTED_LOCATION "${trtbench_LIBRARIES}"
    IMPORTED_SONAME "libtrtbench.so"
    INTERFACE_INCLUDE_DIRECTORIES "${trtbench_INCLUDE_DIRS}")
endif()
unset(_trtbench_prefix)

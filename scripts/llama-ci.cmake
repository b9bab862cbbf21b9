# Injected into llama.cpp's CMake build by scripts/test.sh only (CMAKE_PROJECT_INCLUDE,
# which llama-cpp-sys-2's build.rs forwards like every CMAKE_* variable): the same code,
# compiled in fewer compiler runs. llama-common's chat-template parsers (common/parsers/,
# one small file per model family, each re-reading the same heavy JSON and PEG headers),
# its Jinja engine (common/jinja/) and its chat*.cpp become one unity file each. Measured
# (CPU-s, separate files -> one): the 17 parsers 83 -> 12, jinja 29 -> 19, chat 37 -> 19.
# The rest of common/ does not build as one unity file (nlohmann aliases clash) and is left
# alone; so are ggml and llama (whose own unity batches cover its model files). The main
# job's build (target/release) never sees this file. Also: llama-common and cpp-httplib at
# -O0 (below).
include_guard(GLOBAL)
if(CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL trtbench_ci_unity_groups)
endif()

function(trtbench_ci_unity_groups)
  if(NOT TARGET llama-common)
    return()
  endif()
  set(common_dir "${CMAKE_SOURCE_DIR}/common")
  get_target_property(sources llama-common SOURCES)
  foreach(group parsers jinja chat)
    if(group STREQUAL "chat")
      set(pattern "/common/chat[^/]*\\.cpp$")
    else()
      set(pattern "/common/${group}/[^/]+\\.cpp$")
    endif()
    set(files "")
    foreach(s IN LISTS sources)
      get_filename_component(abs "${s}" ABSOLUTE BASE_DIR "${common_dir}")
      if(abs MATCHES "${pattern}")
        list(APPEND files "${abs}")
      endif()
    endforeach()
    if(files)
      set_source_files_properties(${files} DIRECTORY "${common_dir}"
        PROPERTIES UNITY_GROUP "trtbench_${group}")
    endif()
    list(LENGTH files n)
    message(STATUS "trtbench CI: ${n} llama-common sources in unity group ${group}")
  endforeach()
  set_target_properties(llama-common PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
  # llama-common and cpp-httplib (argument parsing, downloads, chat templates, JSON, the
  # server's HTTP) at -O0, after the -O1 of CMAKE_CXX_FLAGS_RELEASE: they run once per
  # request, never per weight. Measured: arg.cpp 26 -> 15 CPU-s, httplib.cpp 26 -> 19.
  foreach(t llama-common cpp-httplib)
    if(TARGET ${t})
      set_property(TARGET ${t} APPEND PROPERTY COMPILE_OPTIONS -O0)
    endif()
  endforeach()
endfunction()

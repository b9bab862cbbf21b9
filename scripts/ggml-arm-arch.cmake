# The Arm ISA level of ggml's CPU kernels, for aarch64 builds that cannot use
# `-C target-cpu=native` (a cross build, or one binary for a class of machines).
#
# llama-cpp-sys-2 0.1.161's build.rs defines GGML_CPU_ARM_ARCH=armv8-a on aarch64 Linux unless
# target-cpu=native: the plain Armv8.0 level, without the dot-product (sdot/udot) and fp16
# kernels every Jetson has. Its `-D` comes after the GGML_* values it forwards from the
# environment, so an environment value loses. This file, passed as
# CMAKE_PROJECT_ggml_INCLUDE (llama-cpp-sys-2 forwards every CMAKE_* variable), runs right
# after ggml's `project()` and, before ggml-cpu/CMakeLists.txt reads the variable, replaces
# that value with the environment's GGML_CPU_ARM_ARCH (an -march value), e.g.
#   armv8.2-a+dotprod+fp16            Jetson Orin (Cortex-A78AE) and anything newer
#   armv8.6-a+dotprod+fp16+sve+i8mm+sve2  Jetson Thor (Neoverse-V3AE): ggml's armv8.6_2 variant
# GGML_CPU_ARM_ARCH is a GGML_* variable, so the build script reruns (and llama.cpp rebuilds)
# when it changes. See docs/jetson.md.
include_guard(GLOBAL)
if(NOT "$ENV{GGML_CPU_ARM_ARCH}" STREQUAL "")
  set(GGML_CPU_ARM_ARCH "$ENV{GGML_CPU_ARM_ARCH}" CACHE STRING "-march of ggml-cpu on Arm" FORCE)
  message(STATUS "trtbench: GGML_CPU_ARM_ARCH=${GGML_CPU_ARM_ARCH}")
endif()

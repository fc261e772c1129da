# CMake generated Testfile for 
# Source directory: /work/main/src/core
# Build directory: /work/main/build/release/src/core
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[core_test]=] "/work/main/build/release/src/core/core_test")
set_tests_properties([=[core_test]=] PROPERTIES  ENVIRONMENT "STRATA_SOURCE_DIR=/work/main;STRATA_BINARY_DIR=/work/main/build/release" LABELS "unit;" _BACKTRACE_TRIPLES "/work/main/cmake/strata.cmake;19;add_test;/work/main/src/core/CMakeLists.txt;5;strata_test;/work/main/src/core/CMakeLists.txt;0;")

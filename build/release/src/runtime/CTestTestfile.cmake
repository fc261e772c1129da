# CMake generated Testfile for 
# Source directory: /work/main/src/runtime
# Build directory: /work/main/build/release/src/runtime
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[runtime_test]=] "/work/main/build/release/src/runtime/runtime_test")
set_tests_properties([=[runtime_test]=] PROPERTIES  ENVIRONMENT "STRATA_SOURCE_DIR=/work/main;STRATA_BINARY_DIR=/work/main/build/release" LABELS "unit;" _BACKTRACE_TRIPLES "/work/main/cmake/strata.cmake;19;add_test;/work/main/src/runtime/CMakeLists.txt;5;strata_test;/work/main/src/runtime/CMakeLists.txt;0;")
subdirs("torchscript")
subdirs("xgboost")

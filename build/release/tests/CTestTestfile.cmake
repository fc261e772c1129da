# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/release/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[train_examples]=] "/work/main/examples/train_all.sh" "/work/main/examples/repository")
set_tests_properties([=[train_examples]=] PROPERTIES  FIXTURES_SETUP "examples" LABELS "setup" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;3;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[make_fixture_models]=] "/usr/bin/python3" "/work/main/tests/fixtures/make_fixtures.py" "--out" "/work/main/build/release/fixture_repository")
set_tests_properties([=[make_fixture_models]=] PROPERTIES  FIXTURES_SETUP "fixture_models" LABELS "setup" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;0;")

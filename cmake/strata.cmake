# One helper to declare a library and one to declare a test, so each
# module's CMakeLists.txt is a short list of declarations.

# strata_library(NAME SRCS a.cc ... DEPS dep ... [PRIVATE_DEPS dep ...])
function(strata_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# strata_test(NAME SRCS a_test.cc ... DEPS dep ... [LABELS l ...]
#             [FIXTURES f ...])  FIXTURES: CTest fixtures it needs, e.g.
#             "examples" (trained example models) or "fixture_models".
function(strata_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}"
    ENVIRONMENT "STRATA_SOURCE_DIR=${PROJECT_SOURCE_DIR};STRATA_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
endfunction()

# waflow_warnings: compile options every first-party target links against.
# A local shadowing another local is spelled -Wshadow=local by g++ and -Wshadow-uncaptured-local
# by clang (the fuzz build's compiler).
add_library(waflow_warnings INTERFACE)
target_compile_options(waflow_warnings INTERFACE
  -Wall -Wextra -Wpedantic
  $<IF:$<CXX_COMPILER_ID:GNU>,-Wshadow=local,-Wshadow-uncaptured-local>
  -Wnon-virtual-dtor -Wcast-align
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
# g++ 12 reports -Wrestrict false positives inside libstdc++'s string
# concatenation at -O3 (GCC bug 105329); newer compilers do not.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(waflow_warnings INTERFACE -Wno-restrict)
endif()
# Sanitizer instrumentation makes g++ report -Wmaybe-uninitialized false positives inside
# libstdc++ (std::regex's std::function) and Boost (Beast's optional body limit); the
# sanitizers themselves check uninitialised use at run time.
if(WAFLOW_SANITIZERS AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(waflow_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
if(WAFLOW_WERROR)
  target_compile_options(waflow_warnings INTERFACE -Werror)
endif()

# Sanitizer and fuzzing builds. Both instrument every target of the tree (core, plugins, tests),
# so a plugin loaded with dlopen is checked like the daemon itself.
#
#   -DWAFLOW_SANITIZE=address,undefined   any -fsanitize= list; scripts/dev/test.sh sets it
#                                         from SANITIZE=... and builds into build-sanitize
#   -DWAFLOW_FUZZ=ON                      clang only: ASan + UBSan + libFuzzer coverage, and the
#                                         fuzz targets of tests/fuzz (scripts/dev/fuzz.sh)
#
# Any error a sanitizer reports ends the process (-fno-sanitize-recover), so a test that hits
# undefined behaviour fails instead of printing a warning nobody reads. jemalloc is left out:
# AddressSanitizer must own malloc to find heap errors.
set(WAFLOW_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers for every target, e.g. address,undefined (empty = none)")
option(WAFLOW_FUZZ "Build the libFuzzer targets of tests/fuzz, with ASan and UBSan (clang only)" OFF)

set(WAFLOW_SANITIZERS "${WAFLOW_SANITIZE}")
if(WAFLOW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "WAFLOW_FUZZ needs clang's libFuzzer: configure a separate build folder "
                        "with CC=clang CXX=clang++ (scripts/dev/fuzz.sh does)")
  endif()
  if(NOT WAFLOW_SANITIZERS)
    set(WAFLOW_SANITIZERS "address,undefined")
  endif()
  # Coverage for libFuzzer in every object; only the fuzz executables link its main().
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(WAFLOW_SANITIZE AND NOT WAFLOW_FUZZ)
  # -O1 and line tables only (-g1): the build takes about half as long as -O2 -g on two cores,
  # and reports still name every function, file and line. They come after the build type's
  # flags on the command line, so they win.
  add_compile_options(-O1 -g1)
endif()
if(WAFLOW_SANITIZERS)
  add_compile_options(-fsanitize=${WAFLOW_SANITIZERS} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND WAFLOW_SANITIZERS MATCHES "undefined")
    # clang 14 cannot emit UBSan's function-type check for coroutines that are split into
    # several sections ("Cannot represent a difference across sections"); the SDK's plugins
    # are coroutines. Every other check of -fsanitize=undefined stays on.
    add_compile_options(-fno-sanitize=function)
  endif()
  add_link_options(-fsanitize=${WAFLOW_SANITIZERS})
endif()

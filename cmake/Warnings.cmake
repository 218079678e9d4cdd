# waflow_warnings: compile options every first-party target links against.
add_library(waflow_warnings INTERFACE)
target_compile_options(waflow_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(WAFLOW_WERROR)
  target_compile_options(waflow_warnings INTERFACE -Werror)
endif()

# waflow_add_plugin(<name> SOURCES <files...> [LIBS <libs...>] [OUTPUT_DIRECTORY <dir>])
#
# Builds a waflow plugin as a loadable module named waflow-plugin-<name>.so
# (the daemon looks for that pattern), with:
#   - hidden symbol visibility, so only waflow_plugin_entry is exported and two
#     plugins never see each other's symbols;
#   - a linker version script that exports waflow_plugin_entry alone (template
#     instantiations from the C++ standard library would otherwise be exported
#     too and could bind across plugins);
#   - --no-undefined, so a plugin that accidentally depends on daemon symbols
#     fails to link instead of failing to load;
#   - C++20 and the SDK headers.
function(waflow_add_plugin name)
  cmake_parse_arguments(WP "" "OUTPUT_DIRECTORY" "SOURCES;LIBS" ${ARGN})
  if(NOT WP_SOURCES)
    message(FATAL_ERROR "waflow_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${WP_SOURCES})
  target_link_libraries(${name} PRIVATE waflow::sdk ${WP_LIBS})
  target_compile_features(${name} PRIVATE cxx_std_20)
  set(map_file ${CMAKE_CURRENT_BINARY_DIR}/${name}.exports.map)
  file(WRITE ${map_file} "{ global: waflow_plugin_entry; local: *; };\n")
  target_link_options(${name} PRIVATE -Wl,--version-script=${map_file})
  # clang links its sanitizer runtime into executables only, so a plugin of waflow's own
  # sanitizer build (cmake/Sanitizers.cmake) refers to runtime symbols the daemon provides.
  if(NOT (WAFLOW_SANITIZERS AND CMAKE_CXX_COMPILER_ID MATCHES "Clang"))
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${map_file})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "waflow-plugin-${name}"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(WP_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WP_OUTPUT_DIRECTORY})
  endif()
endfunction()

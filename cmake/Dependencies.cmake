# Third-party libraries, all from Debian 12 packages (scripts/dev/setup.sh).
# docs/architecture.md says why each one is used.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
# Boost 1.81, not Debian's default 1.74: 1.74 lacks asio::experimental::as_tuple
# and mis-compiles g++ 12 coroutines.
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS url)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
# Fast JSON parsing on the webhook path (channel plugins).
find_package(simdjson REQUIRED)
# Regular expressions users write (flows, schemas): RE2 runs in linear time without recursion,
# so no customer text can overflow the stack or stall a thread the way std::regex did.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)

# jemalloc replaces glibc's malloc in the daemon executable only (plugins and tests keep the
# system allocator). The message path allocates many small, short-lived objects on several
# threads; glibc's arenas spent about a fifth of the daemon's CPU there (malloc_consolidate),
# jemalloc's thread caches cut the CPU per message by roughly a third (tests/perf/README.md).
# Sanitizer builds keep the system allocator: AddressSanitizer must own malloc.
if(WAFLOW_SANITIZERS)
  set(WAFLOW_JEMALLOC_LIBRARY "")
else()
  find_library(WAFLOW_JEMALLOC_LIBRARY NAMES jemalloc libjemalloc.so.2)
  if(NOT WAFLOW_JEMALLOC_LIBRARY)
    message(FATAL_ERROR "jemalloc not found: install libjemalloc-dev (scripts/dev/setup.sh does)")
  endif()
endif()

# Asio and Beast are compiled once, in core/src/asio_impl.cpp; every target that
# includes them must link waflow_asio so it sees the same configuration.
add_library(waflow_asio_config INTERFACE)
target_compile_definitions(waflow_asio_config INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED BOOST_DLL_USE_STD_FS)
target_link_libraries(waflow_asio_config INTERFACE Boost::headers Threads::Threads)

# Sockets for programs (issue 6): the bridge engine and the socket C API
# (src/api), tapird (src/daemon), libtapir-preload.so (src/preload) and
# the examples.  Included from the top-level CMakeLists.txt.

# Targets that run inside other programs (LD_PRELOAD) cannot carry a
# sanitizer runtime: it would have to be loaded first.
function(tapir_no_sanitizer target)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(_opts ${target} ${prop})
    if(_opts)
      list(FILTER _opts EXCLUDE REGEX "sanitize")
      set_target_properties(${target} PROPERTIES ${prop} "${_opts}")
    endif()
  endforeach()
endfunction()

# libtapir_sock.a: the engine, the client side of its protocol and the
# public C API of include/tapir/socket.h.  Programs link it with libtapir.
file(GLOB TAPIR_SOCK_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/api/*.c)
list(FILTER TAPIR_SOCK_SRC EXCLUDE REGEX "_test\\.c$")
add_library(tapir_sock STATIC ${TAPIR_SOCK_SRC})
target_include_directories(tapir_sock PUBLIC include src)
target_compile_definitions(tapir_sock PRIVATE _GNU_SOURCE)
find_package(Threads REQUIRED)
target_link_libraries(tapir_sock PUBLIC tapir Threads::Threads)

# tapird: `tapir run`'s device setup, options and argument parsers, plus the engine.
# report.c (tapir status's text) counts the services' counters too, so
# the services come along.
file(GLOB TAPIRD_SVC_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/services/*.c)
list(FILTER TAPIRD_SVC_SRC EXCLUDE REGEX "_test\\.c$")
add_executable(tapird ${CMAKE_SOURCE_DIR}/src/daemon/tapird.c
  ${CMAKE_SOURCE_DIR}/src/cli/args.c ${CMAKE_SOURCE_DIR}/src/cli/device.c
  ${CMAKE_SOURCE_DIR}/src/cli/counters.c ${CMAKE_SOURCE_DIR}/src/cli/report.c
  ${CMAKE_SOURCE_DIR}/src/cli/link.c
  ${TAPIRD_SVC_SRC})
target_compile_definitions(tapird PRIVATE _GNU_SOURCE)
target_link_libraries(tapird PRIVATE tapir_sock tapir)

# libtapir-preload.so runs inside arbitrary programs: no sanitizer runtime
# (it would have to be loaded first), no libtapir, only libc and libdl.
add_library(tapir_preload SHARED ${CMAKE_SOURCE_DIR}/src/preload/preload.c
  ${CMAKE_SOURCE_DIR}/src/api/client.c)
set_target_properties(tapir_preload PROPERTIES OUTPUT_NAME tapir-preload
  C_VISIBILITY_PRESET hidden)
target_include_directories(tapir_preload PRIVATE include src)
target_compile_definitions(tapir_preload PRIVATE _GNU_SOURCE)
target_link_libraries(tapir_preload PRIVATE ${CMAKE_DL_LIBS})
tapir_no_sanitizer(tapir_preload)

# Examples: built with the project so the tests can run them.
file(GLOB TAPIR_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/*.c)
foreach(src ${TAPIR_EXAMPLES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(example_${name} ${src})
  set_target_properties(example_${name} PROPERTIES OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/examples)
  target_link_libraries(example_${name} PRIVATE tapir_sock)
endforeach()

# src/api/*_test.c are globbed into cmocka tests by the top-level file,
# which links them with libtapir only.
foreach(t api_test)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE tapir_sock)
  endif()
endforeach()

# Helpers of the interop tests that run under `tapir exec`: no sanitizer
# (LD_PRELOAD puts the shim before any sanitizer runtime), and bad
# pointers passed on purpose (tests/interop/lib/sock_errno.c).
add_executable(sock_errno ${CMAKE_SOURCE_DIR}/tests/interop/lib/sock_errno.c)
set_target_properties(sock_errno PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TAPIR_TEST_DIR})
target_compile_options(sock_errno PRIVATE -Wno-nonnull)
tapir_no_sanitizer(sock_errno)

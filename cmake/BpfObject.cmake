# bpf_object(NAME SOURCE [HEADERS ...]): compiles one CO-RE BPF program with clang against the
# checked-in vmlinux/<arch>/vmlinux.h, turns it into a libbpf skeleton with `bpftool gen
# skeleton`, and defines an INTERFACE library NAME_skel whose include directory holds
# NAME.skel.h (the libbpf-bootstrap pattern, with Debian's clang, bpftool and libbpf).
include_guard(GLOBAL)

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_ARCH arm64)
else()
  message(FATAL_ERROR "bpf_object: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(BPF_VMLINUX_DIR ${PROJECT_SOURCE_DIR}/vmlinux/${BPF_ARCH})
if(NOT EXISTS ${BPF_VMLINUX_DIR}/vmlinux.h)
  message(FATAL_ERROR "bpf_object: ${BPF_VMLINUX_DIR}/vmlinux.h is missing; run scripts/gen-vmlinux.sh")
endif()

function(bpf_object name source)
  cmake_parse_arguments(B "" "" "HEADERS" ${ARGN})
  get_filename_component(src ${source} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(skel ${skel_dir}/${name}.skel.h)
  set(deps ${src} ${BPF_VMLINUX_DIR}/vmlinux.h)
  foreach(h IN LISTS B_HEADERS)
    get_filename_component(habs ${h} ABSOLUTE)
    list(APPEND deps ${habs})
  endforeach()

  # libbpf's own headers (bpf_helpers.h, bpf_core_read.h, bpf_tracing.h) come from libbpf-dev.
  set(includes -I${BPF_VMLINUX_DIR} -I${CMAKE_CURRENT_SOURCE_DIR})
  foreach(dir IN LISTS LIBBPF_INCLUDE_DIRS)
    list(APPEND includes -I${dir})
  endforeach()

  add_custom_command(OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_ARCH}
            -Wall -Werror ${includes} -c ${src} -o ${obj}
    DEPENDS ${deps}
    COMMENT "BPF ${name}: clang -target bpf"
    VERBATIM)
  add_custom_command(OUTPUT ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
    COMMAND sh -c "\"${BPFTOOL}\" gen skeleton \"${obj}\" name ${name} > \"${skel}.tmp\" && mv \"${skel}.tmp\" \"${skel}\""
    DEPENDS ${obj}
    COMMENT "BPF ${name}: bpftool gen skeleton"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})

  add_library(${name}_skel INTERFACE)
  target_include_directories(${name}_skel INTERFACE ${skel_dir} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
  add_dependencies(${name}_skel ${name}_skel_gen)
endfunction()

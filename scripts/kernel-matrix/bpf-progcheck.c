// bpf-progcheck: loads each program of a BPF object file on its own (every other program's
// autoload off) and prints, per program, "ok" or the libbpf error with the verifier's whole
// log. The tracer keeps a short excerpt of a failed load; this is for a guest kernel where
// a program fails and the reason is further down the log.
//
// Build (static, for the kernel-matrix initramfs):
//   gcc -O2 -static -o bpf-progcheck bpf-progcheck.c -lbpf -lelf -lz
// Usage: bpf-progcheck OBJECT.bpf.o [PROGRAM[=TARGET]...]
//   (root; no PROGRAM: every program; =TARGET retargets an fentry/fexit program to another
//   kernel function, as the tracer does for renamed functions; exit 1 if any failed)
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quiet_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    return vfprintf(stdout, fmt, args);
}

static int check_one(const char* path, const char* name, const char* retarget, char* log,
                     size_t log_size) {
    struct bpf_object* obj = bpf_object__open_file(path, NULL);
    if (!obj) {
        printf("%s: cannot open %s: %s\n", name, path, strerror(errno));
        return 1;
    }
    struct bpf_program* prog;
    struct bpf_program* target = NULL;
    bpf_object__for_each_program(prog, obj) {
        int me = strcmp(bpf_program__name(prog), name) == 0;
        bpf_program__set_autoload(prog, me);
        if (me) target = prog;
    }
    if (!target) {
        printf("%s: no such program in %s\n", name, path);
        bpf_object__close(obj);
        return 1;
    }
    if (retarget && bpf_program__set_attach_target(target, 0, retarget)) {
        printf("PROGCHECK %s: cannot retarget to %s\n", name, retarget);
        bpf_object__close(obj);
        return 1;
    }
    log[0] = 0;
    bpf_program__set_log_buf(target, log, log_size);
    bpf_program__set_log_level(target, 1);
    int err = bpf_object__load(obj);
    if (err)
        printf(
            "PROGCHECK %s (%s%s%s): FAILED %d (%s)\n--- verifier log ---\n%s\n--- end of log ---\n",
            name, bpf_program__section_name(target), retarget ? " -> " : "",
            retarget ? retarget : "", err, strerror(-err), log);
    else
        printf("PROGCHECK %s (%s%s%s): ok\n", name, bpf_program__section_name(target),
               retarget ? " -> " : "", retarget ? retarget : "");
    bpf_object__close(obj);
    return err ? 1 : 0;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OBJECT.bpf.o [PROGRAM...]\n", argv[0]);
        return 2;
    }
    libbpf_set_print(quiet_print);
    size_t log_size = 16 << 20;
    char* log = malloc(log_size);
    if (!log) return 1;
    int failed = 0;
    if (argc > 2) {
        for (int i = 2; i < argc; i++) {
            char* eq = strchr(argv[i], '=');
            if (eq) *eq = 0;
            failed |= check_one(argv[1], argv[i], eq ? eq + 1 : NULL, log, log_size);
        }
    } else {
        struct bpf_object* obj = bpf_object__open_file(argv[1], NULL);
        if (!obj) {
            fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        struct bpf_program* prog;
        bpf_object__for_each_program(prog, obj) {
            failed |= check_one(argv[1], bpf_program__name(prog), NULL, log, log_size);
        }
        bpf_object__close(obj);
    }
    free(log);
    return failed;
}

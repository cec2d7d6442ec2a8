#include "matrix_run.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace copyscope::kerneltest {

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::json read_json(const fs::path& p) {
    return nlohmann::json::parse(read_text(p), nullptr, false);
}

std::string tail(const std::string& s, size_t n) {
    return s.size() <= n ? s : "[...]\n" + s.substr(s.size() - n);
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

MatrixRun run_matrix(const std::string& name, const std::string& args, int bound_seconds) {
    MatrixRun r;
    r.out = fs::temp_directory_path() / ("copyscope-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(r.out);
    fs::create_directories(r.out);
    std::string binary = COPYSCOPE_STATIC_DIR "/userspace/copyscope";
    if (const char* b = std::getenv("COPYSCOPE_STATIC_BINARY"); b && *b) binary = b;
    const fs::path log = r.out / "kernel-matrix.log";
    const std::string cmd =
        "timeout --kill-after=15 " + std::to_string(bound_seconds) + " /usr/bin/python3 " +
        quote(std::string(COPYSCOPE_SOURCE_DIR) + "/scripts/kernel_matrix.py") + " --out " +
        quote(r.out.string()) + " --copyscope " + quote(binary) + " --build-dir " +
        quote(COPYSCOPE_STATIC_DIR) + " " + args + " </dev/null >" + quote(log.string()) + " 2>&1";
    const int raw = std::system(cmd.c_str());
    r.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
    r.output = read_text(log);
    return r;
}

fs::path find_report(const fs::path& out, const std::string& prefix, const std::string& suffix) {
    const std::string want_end = (suffix.empty() ? "" : "-" + suffix) + ".json";
    for (const auto& e : fs::directory_iterator(out)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("kernel-" + prefix, 0) != 0 || n.find(".meta.") != std::string::npos ||
            n.size() < want_end.size() ||
            n.compare(n.size() - want_end.size(), want_end.size(), want_end) != 0)
            continue;
        // The release itself has no '-' after the prefix's "+debNN-cloud-amd64": the part
        // between the release and ".json" must be exactly SUFFIX.
        const std::string rest = n.substr(0, n.size() - want_end.size());
        const std::string flavour = "-cloud-amd64";
        if (rest.size() >= flavour.size() &&
            rest.compare(rest.size() - flavour.size(), flavour.size(), flavour) == 0)
            return e.path();
    }
    return {};
}

void keep_on_failure(const fs::path& dir) {
    if (dir.empty()) return;
    if (::testing::UnitTest::GetInstance()->failed_test_count() > 0)
        std::fprintf(stderr, "kernel matrix: reports and guest consoles kept in %s\n", dir.c_str());
    else
        fs::remove_all(dir);
}

} // namespace copyscope::kerneltest

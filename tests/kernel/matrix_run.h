// Running scripts/kernel_matrix.py from a lab test and reading what it wrote.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace copyscope::kerneltest {

struct MatrixRun {
    int status = -1; // the matrix's exit status; 124: it ran over the bound
    std::string output;
    std::filesystem::path out; // its --out directory
};

// Runs the matrix with ARGS (already shell-quoted) into a fresh directory named after
// NAME, bounded by BOUND_SECONDS. The static copyscope is the fixture's (build-static) or
// $COPYSCOPE_STATIC_BINARY; downloads go to the matrix's default cache.
MatrixRun run_matrix(const std::string& name, const std::string& args, int bound_seconds);

// The report OUT/kernel-<release...>-SUFFIX.json of the kernel whose release starts with
// PREFIX ("" suffix: the veth report); empty when there is none.
std::filesystem::path find_report(const std::filesystem::path& out, const std::string& prefix,
                                  const std::string& suffix);

nlohmann::json read_json(const std::filesystem::path& p); // discarded when not JSON
std::string read_text(const std::filesystem::path& p);
std::string tail(const std::string& s, size_t n);
std::string quote(const std::string& s);

// Keeps the matrix's directory (reports, consoles) when a test failed, removes it else;
// for the suite's TearDownTestSuite.
void keep_on_failure(const std::filesystem::path& dir);

} // namespace copyscope::kerneltest

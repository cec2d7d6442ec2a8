#include "compare/load.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.h"

namespace copyscope {
namespace {

// Messages stay on one line: a report value could carry a newline.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is the useful
// part ("parse error at line 1, column 2: ...").
std::string strip_json_prefix(const std::string& what) {
    if (!what.empty() && what[0] == '[') {
        auto close = what.find("] ");
        if (close != std::string::npos) return what.substr(close + 2);
    }
    return what;
}

std::string read_whole(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw UsageError(path + ": is a directory, not a report");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(one_line(errno_message(path + ": cannot read", errno)));
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) throw UsageError(one_line(errno_message(path + ": cannot read", errno)));
    return text.str();
}

// Runs a reader; its errors name the document `name` instead of "report".
template <class Read> auto named(const std::string& name, Read read) {
    try {
        return read();
    } catch (const UsageError& e) {
        // The reader names the document itself "report" and fields by their path in it.
        std::string what = e.what();
        const std::string whole = "report: ";
        if (what.rfind(whole, 0) == 0) what.erase(0, whole.size());
        throw UsageError(name + ": " + one_line(what));
    }
}

} // namespace

nlohmann::json load_json(const std::string& path) {
    const std::string contents = read_whole(path);
    if (contents.find_first_not_of(" \t\r\n") == std::string::npos)
        throw UsageError(path + ": empty file, not a copyscope report");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(contents);
    } catch (const nlohmann::json::parse_error& e) {
        throw UsageError(path + ": not JSON (" + one_line(strip_json_prefix(e.what())) + ")");
    }
    return doc;
}

Report load_report(const std::string& path) {
    return read_report(load_json(path), path);
}

Report read_report(const nlohmann::json& doc, const std::string& name) {
    return named(name, [&] { return report_from_json(doc); });
}

TraceReport read_trace_report(const nlohmann::json& doc, const std::string& name) {
    return named(name, [&] { return trace_report_from_json(doc); });
}

} // namespace copyscope

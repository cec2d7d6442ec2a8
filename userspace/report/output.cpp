#include "report/report.h"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/unique_fd.h"

namespace copyscope {

void write_file_atomically(const std::string& path, const std::string& contents) {
    std::filesystem::path target(path);
    std::filesystem::path tmp = target;
    tmp += ".tmp." + std::to_string(getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw RunError(errno_message("cannot write report " + tmp.string(), errno));
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::unlink(tmp.c_str());
            throw RunError(errno_message("cannot write report " + tmp.string(), err));
        }
        done += size_t(n);
    }
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw RunError(errno_message("cannot write report " + tmp.string(), err));
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw RunError(errno_message("cannot rename report to " + path, err));
    }
}

void check_output_path(const std::string& path) {
    if (path.empty())
        throw UsageError("--output: empty path; give a file name such as report.json");
    std::filesystem::path p(path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec))
        throw UsageError("--output " + path + ": is a directory; give a file name");
    std::filesystem::path dir = p.parent_path();
    if (dir.empty()) dir = ".";
    if (!std::filesystem::is_directory(dir, ec))
        throw UsageError("--output " + path + ": directory " + dir.string() + " does not exist");
    if (::access(dir.c_str(), W_OK) != 0)
        throw UsageError("--output " + path + ": directory " + dir.string() + " is not writable");
    if (std::filesystem::exists(p, ec) && ::access(p.c_str(), W_OK) != 0)
        throw UsageError("--output " + path + ": file exists and is not writable");
}

} // namespace copyscope

#include "cli/plan.h"

#include "cli/size.h"
#include "common/errors.h"
#include "strategies/message.h"

namespace copyscope {

const std::vector<Preset>& presets() {
    using S = Strategy;
    static const std::vector<Preset> list = {
        {"quick",
         "all four strategies x 256, 4K, 64K x 1, 2 connections over veth",
         {S::two_copy, S::per_field, S::one_copy, S::zero_copy},
         {256, 4096, 65536},
         {1, 2},
         {Transport::veth}},
        {"seeds",
         "the original assignment's matrix: two-copy, one-copy, zero-copy x 64, 512, 4096, "
         "65536 x 1, 2, 4, 8 connections over veth",
         {S::two_copy, S::one_copy, S::zero_copy},
         {64, 512, 4096, 65536},
         {1, 2, 4, 8},
         {Transport::veth}},
        {"full",
         "all four strategies, sendfile and the three io_uring ones x 64 bytes to 1MiB x 1, "
         "2, 4, 8 connections over veth and loopback",
         {S::two_copy, S::per_field, S::one_copy, S::zero_copy, S::sendfile, S::io_uring,
          S::io_uring_zc, S::io_uring_zc_fixed},
         {64, 512, 4096, 65536, 262144, 1048576},
         {1, 2, 4, 8},
         {Transport::veth, Transport::loopback}},
        {"paths",
         "the send paths real programs use: sendfile, io-uring, io-uring-zc, io-uring-zc-fixed "
         "x 4K, 64K x 1 connection over veth and loopback",
         {S::sendfile, S::io_uring, S::io_uring_zc, S::io_uring_zc_fixed},
         {4096, 65536},
         {1},
         {Transport::veth, Transport::loopback}},
    };
    return list;
}

const Preset& find_preset(const std::string& name) {
    for (const Preset& p : presets())
        if (name == p.name) return p;
    std::string names;
    for (const Preset& p : presets())
        names += std::string(names.empty() ? "" : ", ") + p.name;
    throw UsageError("--preset '" + name + "': unknown preset (allowed: " + names + ")");
}

std::string preset_descriptions() {
    std::string text;
    for (const Preset& p : presets())
        text += std::string(text.empty() ? "" : "; ") + p.name + ": " + p.description;
    return text;
}

std::string strategy_names() {
    std::string names;
    for (Strategy s : all_strategies)
        names += std::string(to_string(s)) + ", ";
    return names + "all";
}

std::vector<Strategy> parse_strategies(const std::vector<std::string>& items) {
    std::vector<Strategy> out;
    for (const std::string& item : items) {
        if (item == "all") {
            out.assign(std::begin(all_strategies), std::end(all_strategies));
            continue;
        }
        auto s = strategy_from_string(item);
        if (!s)
            throw UsageError("--strategy '" + item +
                             "': unknown strategy (allowed: " + strategy_names() + ")");
        out.push_back(*s);
    }
    return out;
}

std::vector<Transport> parse_transports(const std::vector<std::string>& items) {
    std::vector<Transport> out;
    for (const std::string& item : items) {
        auto t = transport_from_string(item);
        if (!t)
            throw UsageError("--transport '" + item +
                             "': unknown transport (allowed: veth, loopback, forward, nic)");
        out.push_back(*t);
    }
    return out;
}

std::vector<uint64_t> parse_sizes(const std::vector<std::string>& items) {
    std::vector<uint64_t> out;
    for (const std::string& item : items) {
        uint64_t size = parse_size(item, "--size");
        if (size < kMinMessageSize || size > kMaxMessageSize)
            throw UsageError("--size '" + item + "': a message is 8 fields, so its size must be " +
                             "from 8 bytes to 16MiB (" + std::to_string(kMaxMessageSize) + ")");
        out.push_back(size);
    }
    return out;
}

std::vector<unsigned> parse_threads(const std::vector<std::string>& items) {
    std::vector<unsigned> out;
    for (const std::string& item : items) {
        size_t used = 0;
        long value = -1;
        try {
            value = std::stol(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || value < 1 || value > long(kMaxThreads))
            throw UsageError("--threads '" + item + "': must be a whole number from 1 to " +
                             std::to_string(kMaxThreads));
        out.push_back(unsigned(value));
    }
    return out;
}

std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, const CellSpec& prototype) {
    std::vector<CellSpec> plan;
    for (Transport t : transports)
        for (Strategy s : strategies)
            for (uint64_t size : sizes)
                for (unsigned n : threads) {
                    CellSpec cell = prototype;
                    cell.transport = t;
                    cell.strategy = s;
                    cell.message_size = size;
                    cell.threads = n;
                    plan.push_back(cell);
                }
    return plan;
}

} // namespace copyscope

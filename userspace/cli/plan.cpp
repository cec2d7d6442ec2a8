#include "cli/plan.h"

#include <algorithm>

#include "cli/size.h"
#include "common/errors.h"
#include "strategies/message.h"

namespace copyscope {

namespace {

// udp at 4K (a datagram per message) and 64K (GSO segments that fit veth's MTU), and
// zerocopy receive behind the senders that can give it whole pages and one that cannot.
std::vector<PathCells> path_cells() {
    using S = Strategy;
    return {
        {Protocol::udp, Receive::copy, 0, {S::two_copy, S::one_copy, S::zero_copy}, {4096}},
        {Protocol::udp, Receive::copy, 1472, {S::two_copy, S::one_copy, S::zero_copy}, {65536}},
        {Protocol::tcp, Receive::zerocopy, 0, {S::one_copy, S::zero_copy}, {4096, 65536}},
    };
}

} // namespace

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
         "2, 4, 8 connections over veth and loopback; and the paths preset's udp and "
         "zerocopy-receive cells",
         {S::two_copy, S::per_field, S::one_copy, S::zero_copy, S::sendfile, S::io_uring,
          S::io_uring_zc, S::io_uring_zc_fixed},
         {64, 512, 4096, 65536, 262144, 1048576},
         {1, 2, 4, 8},
         {Transport::veth, Transport::loopback},
         path_cells()},
        {"paths",
         "the send and receive paths real programs use: sendfile, io-uring, io-uring-zc, "
         "io-uring-zc-fixed at 4K and 64K; udp two-copy, one-copy, zero-copy at 4K (one "
         "datagram) and 64K (GSO 1472); tcp zero-copy and one-copy with zerocopy receive at "
         "4K and 64K; 1 connection over veth and loopback",
         {S::sendfile, S::io_uring, S::io_uring_zc, S::io_uring_zc_fixed},
         {4096, 65536},
         {1},
         {Transport::veth, Transport::loopback},
         path_cells()},
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

namespace copyscope {

std::vector<Protocol> parse_protocols(const std::vector<std::string>& items) {
    std::vector<Protocol> out;
    for (const std::string& item : items) {
        auto p = protocol_from_string(item);
        if (!p) throw UsageError("--protocol '" + item + "': unknown protocol (allowed: tcp, udp)");
        out.push_back(*p);
    }
    return out;
}

std::vector<Receive> parse_receives(const std::vector<std::string>& items) {
    std::vector<Receive> out;
    for (const std::string& item : items) {
        auto r = receive_from_string(item);
        if (!r)
            throw UsageError("--receive '" + item +
                             "': unknown receive mode (allowed: copy, zerocopy)");
        out.push_back(*r);
    }
    return out;
}

bool runs_over_udp(Strategy s) {
    return s == Strategy::two_copy || s == Strategy::one_copy || s == Strategy::zero_copy;
}

namespace {

unsigned lab_mtu(const CellSpec& c) {
    if (c.receive == Receive::zerocopy) return kZerocopyReceiveMtu;
    return c.transport == Transport::loopback ? kLoopbackMtu : kVethMtu;
}

// --udp-cork and --tx-checksum off on a udp cell.
void check_udp_send_options(const CellSpec& c) {
    if (c.udp_cork && c.strategy == Strategy::two_copy)
        throw UsageError("--udp-cork: two-copy sends each datagram from one staging buffer, "
                         "nothing to cork (allowed: one-copy, zero-copy)");
    if (c.udp_cork && c.udp_gso > 0)
        throw UsageError("--udp-cork: not with --udp-gso (a corked GSO datagram's first piece "
                         "is pinned and the rest copied under one ubuf_info, which the ledger "
                         "cannot split)");
    if (c.tx_checksum_off && c.transport != Transport::veth && c.transport != Transport::forward)
        throw UsageError("--tx-checksum off: turns the offload off on the sender's veth; the " +
                         std::string(to_string(c.transport)) +
                         " transport has none (allowed: veth, forward)");
}

} // namespace

void check_path(const CellSpec& c) {
    const std::string strategy(to_string(c.strategy));
    if (c.protocol == Protocol::tcp) {
        if (c.udp_cork) throw UsageError("--udp-cork is for udp cells: give --protocol udp");
        if (c.tx_checksum_off)
            throw UsageError("--tx-checksum off is for udp cells: give --protocol udp");
        if (c.udp_gso > 0 && c.receive == Receive::copy) return; // --udp-gso is for udp cells
        if (c.receive == Receive::zerocopy && c.transport == Transport::nic)
            throw UsageError("--receive zerocopy: the nic transport's receiver is a sink "
                             "outside copyscope; zerocopy receive runs over veth, loopback or "
                             "forward");
        return;
    }
    if (!runs_over_udp(c.strategy))
        throw UsageError("--protocol udp: strategy " + strategy +
                         " does not run over udp (allowed: two-copy, one-copy, zero-copy)");
    if (c.receive == Receive::zerocopy)
        throw UsageError("--receive zerocopy is TCP_ZEROCOPY_RECEIVE: tcp only, not with "
                         "--protocol udp");
    if (c.transport == Transport::nic)
        throw UsageError("--protocol udp: the nic transport's sink receives tcp only; udp runs "
                         "over veth, loopback or forward");
    if (c.pattern == Pattern::rr) throw UsageError("--protocol udp: --pattern rr is tcp only");
    if (c.udp_gso == 0 && c.message_size > kMaxUdpPayload)
        throw UsageError("--protocol udp: a " + std::to_string(c.message_size) +
                         "-byte message is above the 65507 bytes of one datagram; give "
                         "--udp-gso SIZE to send it as segments");
    check_udp_send_options(c);
    const unsigned mtu = lab_mtu(c);
    const uint64_t most = std::min<uint64_t>(mtu - 28, kMaxUdpPayload);
    if (c.udp_gso > most)
        throw UsageError("--udp-gso " + std::to_string(c.udp_gso) + ": a segment must fit the " +
                         std::string(to_string(c.transport)) + " lab's MTU " + std::to_string(mtu) +
                         " less 28 bytes of headers (at most " + std::to_string(most) + ")");
}

std::vector<CellSpec> plan_paths(const Preset& preset, const std::vector<Transport>& transports,
                                 const std::vector<Strategy>& strategies,
                                 const std::vector<uint64_t>& sizes,
                                 const std::vector<unsigned>& threads, const CellSpec& prototype,
                                 const PathChoice& choice) {
    std::vector<CellSpec> plan;
    auto add = [&](std::vector<CellSpec> cells) {
        for (CellSpec& c : cells) {
            check_path(c);
            plan.push_back(std::move(c));
        }
    };
    if (choice.protocols.empty() && choice.receives.empty() && choice.udp_gso == 0) {
        add(make_plan(transports, strategies, sizes, threads, prototype));
        for (const PathCells& p : preset.paths) {
            auto keep = [](auto list, const auto& allowed, bool filter) {
                if (!filter) return list;
                std::erase_if(list, [&](const auto& x) {
                    return std::find(allowed.begin(), allowed.end(), x) == allowed.end();
                });
                return list;
            };
            CellSpec proto = prototype;
            proto.protocol = p.protocol;
            proto.receive = p.receive;
            proto.udp_gso = p.udp_gso;
            add(make_plan(transports, keep(p.strategies, strategies, choice.explicit_strategies),
                          keep(p.sizes, sizes, choice.explicit_sizes), threads, proto));
        }
        return plan;
    }
    const std::vector<Protocol> protocols =
        choice.protocols.empty() ? std::vector<Protocol>{Protocol::tcp} : choice.protocols;
    const std::vector<Receive> receives =
        choice.receives.empty() ? std::vector<Receive>{Receive::copy} : choice.receives;
    for (Protocol protocol : protocols)
        for (Receive receive : receives) {
            CellSpec proto = prototype;
            proto.protocol = protocol;
            proto.receive = receive;
            proto.udp_gso = protocol == Protocol::udp ? choice.udp_gso : 0;
            proto.udp_cork = protocol == Protocol::udp && choice.udp_cork;
            proto.tx_checksum_off = protocol == Protocol::udp && choice.tx_checksum_off;
            std::vector<Strategy> runnable = strategies;
            // The preset's strategies that cannot run over udp are left out; typed ones are
            // an error (check_path).
            if (protocol == Protocol::udp && !choice.explicit_strategies)
                std::erase_if(runnable, [](Strategy s) { return !runs_over_udp(s); });
            add(make_plan(transports, runnable, sizes, threads, proto));
        }
    return plan;
}

} // namespace copyscope

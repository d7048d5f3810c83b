// An impairment relay for the e2e tests: bridges two interfaces (veth ends in the middle
// namespace) with AF_PACKET sockets and, in both directions, drops each frame with a seeded
// probability, delays every frame by a fixed time, and optionally duplicates or reorders.
//
// It stands in for `tc qdisc ... netem loss 2% delay 10ms`: the test kernel has neither
// sch_netem nor act_gact (and tbf/htb only shape, they neither drop at random nor delay a
// frame by a fixed time). Unlike netem on one veth it impairs both directions, and the seed
// makes the drop pattern repeatable.
//
//   impair --a IF --b IF [--loss P] [--delay-ms D] [--dup P] [--reorder P] [--seed S]
//          [--seconds T]
//
// Prints "impair: ready" once both sockets are bound, a "stats ..." line on SIGUSR1 and on
// exit (SIGTERM/SIGINT, or after T seconds, default 600): frames forwarded, dropped (by the
// loss draw), duplicated, reordered, dropped because the delay queue was full, oversize, and
// the sockets' own drops, and frames still waiting out their delay. Memory is bounded: a fixed ring
// of frames per direction.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr size_t kSlots = 4096;     // frames per direction in the delay queue
constexpr size_t kFrameMax = 1536;  // an Ethernet frame at MTU 1500 (+VLAN), no GRO
constexpr int kBurst = 64;          // frames read per socket per loop turn

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_report = 0;

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Rng {  // xorshift64*: seeded, repeatable
    uint64_t s;
    double uniform() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return static_cast<double>((s * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
    }
};

struct Frame {
    uint64_t release_ns;
    uint16_t len;
    uint8_t data[kFrameMax];
};

struct Stats {
    uint64_t received = 0, forwarded = 0, dropped = 0, duplicated = 0, reordered = 0,
             queue_full = 0, oversize = 0, send_errors = 0;
};

// One direction: frames read on `in` wait in a FIFO (the delay is fixed, so release times are
// in order) and leave on `out`.
struct Direction {
    const char* name;
    int in = -1, out = -1;
    std::vector<Frame> ring = std::vector<Frame>(kSlots);
    size_t head = 0, count = 0;
    Stats st;

    Frame* tail_slot() { return count < kSlots ? &ring[(head + count) % kSlots] : nullptr; }
    Frame* last() { return count > 0 ? &ring[(head + count - 1) % kSlots] : nullptr; }
};

int open_socket(const char* ifname) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd < 0) return -1;
    const int idx = static_cast<int>(if_nametoindex(ifname));
    if (idx == 0) return -1;
    // Our own transmissions on this interface must not come back to us.
    const int one = 1;
    ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    const int buf = 8 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = idx;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) return -1;
    packet_mreq mr{};
    mr.mr_ifindex = idx;
    mr.mr_type = PACKET_MR_PROMISC;
    ::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
    return fd;
}

struct Knobs {
    double loss = 0, dup = 0, reorder = 0;
    uint64_t delay_ns = 0;
};

void receive(Direction& d, const Knobs& k, Rng& rng) {
    for (int i = 0; i < kBurst; ++i) {
        uint8_t buf[kFrameMax + 1];
        sockaddr_ll from{};
        socklen_t fl = sizeof from;
        const ssize_t n =
            ::recvfrom(d.in, buf, sizeof buf, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) return;  // EAGAIN: nothing more
        if (from.sll_pkttype == PACKET_OUTGOING) continue;
        ++d.st.received;
        if (static_cast<size_t>(n) > kFrameMax) {
            ++d.st.oversize;
            continue;
        }
        if (k.loss > 0 && rng.uniform() < k.loss) {
            ++d.st.dropped;
            continue;
        }
        const int copies = (k.dup > 0 && rng.uniform() < k.dup) ? 2 : 1;
        if (copies == 2) ++d.st.duplicated;
        for (int c = 0; c < copies; ++c) {
            Frame* f = d.tail_slot();
            if (f == nullptr) {
                ++d.st.queue_full;
                break;
            }
            f->release_ns = now_ns() + k.delay_ns;
            f->len = static_cast<uint16_t>(n);
            std::memcpy(f->data, buf, static_cast<size_t>(n));
            ++d.count;
            // Reorder: trade places with the frame queued just before (it leaves later).
            Frame* prev = d.count >= 2 ? &d.ring[(d.head + d.count - 2) % kSlots] : nullptr;
            if (c == 0 && prev != nullptr && k.reorder > 0 && rng.uniform() < k.reorder) {
                std::swap(prev->len, f->len);
                std::swap(prev->data, f->data);
                ++d.st.reordered;
            }
        }
    }
}

// Sends what is due; returns ns until the next release (or a long wait if empty).
uint64_t release(Direction& d, uint64_t now) {
    while (d.count > 0) {
        Frame& f = d.ring[d.head];
        if (f.release_ns > now) return f.release_ns - now;
        const ssize_t n = ::send(d.out, f.data, f.len, 0);
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) return 50000;  // retry shortly
        if (n < 0)
            ++d.st.send_errors;
        else
            ++d.st.forwarded;
        d.head = (d.head + 1) % kSlots;
        --d.count;
    }
    return 100000000;
}

unsigned socket_drops(int fd) {
    tpacket_stats s{};
    socklen_t len = sizeof s;
    if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &s, &len) != 0) return 0;
    return s.tp_drops;  // since the last query: the caller sums
}

void report(const Direction* dirs, uint64_t sock_drops) {
    for (int i = 0; i < 2; ++i) {
        const Stats& s = dirs[i].st;
        std::printf(
            "stats %s received=%llu forwarded=%llu dropped=%llu duplicated=%llu reordered=%llu "
            "queue_full=%llu oversize=%llu send_errors=%llu queued=%zu\n",
            dirs[i].name, static_cast<unsigned long long>(s.received),
            static_cast<unsigned long long>(s.forwarded),
            static_cast<unsigned long long>(s.dropped),
            static_cast<unsigned long long>(s.duplicated),
            static_cast<unsigned long long>(s.reordered),
            static_cast<unsigned long long>(s.queue_full),
            static_cast<unsigned long long>(s.oversize),
            static_cast<unsigned long long>(s.send_errors), dirs[i].count);
    }
    std::printf("stats socket_drops=%llu\n", static_cast<unsigned long long>(sock_drops));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::string a, b;
    Knobs k;
    uint64_t seed = 1;
    double seconds = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string opt = argv[i];
        const char* v = argv[i + 1];
        if (opt == "--a")
            a = v;
        else if (opt == "--b")
            b = v;
        else if (opt == "--loss")
            k.loss = std::atof(v);
        else if (opt == "--delay-ms")
            k.delay_ns = static_cast<uint64_t>(std::atof(v) * 1e6);
        else if (opt == "--dup")
            k.dup = std::atof(v);
        else if (opt == "--reorder")
            k.reorder = std::atof(v);
        else if (opt == "--seed")
            seed = std::strtoull(v, nullptr, 10);
        else if (opt == "--seconds")
            seconds = std::atof(v);
        else
            return std::fprintf(stderr, "impair: unknown option %s\n", opt.c_str()), 2;
    }
    if (a.empty() || b.empty()) {
        return std::fprintf(stderr, "usage: impair --a IF --b IF [knobs] (see impair.cpp)\n"), 2;
    }
    // Ends with the test that started it, even if the test crashed (and e2e-run.sh removed the
    // namespaces): a parent's death is a SIGTERM.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) return 1;
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGUSR1, [](int) { g_report = 1; });

    static Direction dirs[2] = {{.name = "a->b"}, {.name = "b->a"}};
    const int fa = open_socket(a.c_str()), fb = open_socket(b.c_str());
    if (fa < 0 || fb < 0) {
        std::fprintf(stderr, "impair: cannot open AF_PACKET on %s/%s: %s\n", a.c_str(), b.c_str(),
                     std::strerror(errno));
        return 1;
    }
    dirs[0].in = fa, dirs[0].out = fb;
    dirs[1].in = fb, dirs[1].out = fa;
    Rng rng{seed * 0x9e3779b97f4a7c15ull + 1};
    std::printf("impair: ready loss=%g delay_ms=%g dup=%g reorder=%g seed=%llu\n", k.loss,
                static_cast<double>(k.delay_ns) / 1e6, k.dup, k.reorder,
                static_cast<unsigned long long>(seed));
    std::fflush(stdout);

    const uint64_t end = now_ns() + static_cast<uint64_t>(seconds * 1e9);
    uint64_t sock_drops = 0;
    while (g_stop == 0 && now_ns() < end) {
        const uint64_t now = now_ns();
        uint64_t wait = std::min(release(dirs[0], now), release(dirs[1], now));
        wait = std::min<uint64_t>(wait, 100000000);  // wake at least every 100 ms
        pollfd p[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
        const timespec ts{static_cast<time_t>(wait / 1000000000ull),
                          static_cast<long>(wait % 1000000000ull)};
        if (::ppoll(p, 2, &ts, nullptr) > 0) {
            if (((p[0].revents | p[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                std::printf("impair: an interface went away\n");  // the test bed is gone
                break;
            }
            if ((p[0].revents & POLLIN) != 0) receive(dirs[0], k, rng);
            if ((p[1].revents & POLLIN) != 0) receive(dirs[1], k, rng);
        }
        if (g_report != 0) {
            g_report = 0;
            sock_drops += socket_drops(fa) + socket_drops(fb);
            report(dirs, sock_drops);
        }
    }
    sock_drops += socket_drops(fa) + socket_drops(fb);
    report(dirs, sock_drops);
    return 0;
}

#include "adapter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <dlfcn.h>
#include <getopt.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "wire/build.hpp"
#include "wire/ipv6.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace sluice::packetdrill {

using namespace std::chrono_literals;
using time::Duration;
using time::Instant;

// A connection as the adapter sees it: the handle, what the application was told, and the
// error its next call reports.
struct Conn {
    engine::ConnId id;
    wire::IpAddr remote;
    uint16_t remote_port = 0;
    bool connected = false;  // reached ESTABLISHED once
    bool closed = false;     // the Closed event came: the handle is dead
    int error = 0;           // errno the next read/write/connect reports (then 0)
    int so_error = 0;        // SO_ERROR until read
    bool orphan = false;     // its fd was closed
};

struct Sock {
    enum class Kind : uint8_t { Fresh, Listening, Connection };
    Kind kind = Kind::Fresh;
    int domain = AF_INET;
    bool nonblock = false;
    bool bound = false;
    wire::IpAddr bound_addr;
    uint16_t port = 0;
    int backlog = 0;
    std::deque<Conn*> accept_q;
    Conn* conn = nullptr;
    bool shut_rd = false, shut_wr = false;
    // Socket options (applied to the connection when it exists).
    bool nodelay = false;
    bool keepalive = false;
    Duration keepidle{}, keepintvl{};
    uint8_t keepcnt = 0;
    uint32_t rcvbuf = 0, sndbuf = 0;  // 0: the configured size
    bool linger = false;
    int linger_secs = 0;
    bool reuseaddr = false;
    Duration rcvtimeo{}, sndtimeo{};  // 0: none
};

namespace {

constexpr int kFirstFd = 3;  // as in a fresh process: 0-2 are stdio
constexpr Duration kStep = 1ms;  // the TCP host's wheel tick
// gettimeofday() at virtual time 0 (fixed: runs are reproducible).
constexpr long long kEpochUsecs = 1'700'000'000'000'000LL;
const Instant kStart = Instant::from_ns(1'000'000'000);
// How far netdev_receive() and a blocking call in the driving thread run the clock on their
// own looking for something to happen before they give up.
constexpr Duration kMaxSelfAdvance = 24h;
// The peer's MAC (locally administered): every neighbour request is answered with it.
const wire::MacAddr kPeerMac{{0x02, 0x70, 0x64, 0x00, 0x00, 0x01}};

int fail(int e) {
    errno = e;
    return -1;
}

// Linux's TCP_* state numbers (include/net/tcp_states.h) for tcpi_state.
uint8_t linux_state(tcp::State s) {
    switch (s) {
        case tcp::State::Established: return 1;
        case tcp::State::SynSent: return 2;
        case tcp::State::SynReceived: return 3;
        case tcp::State::FinWait1: return 4;
        case tcp::State::FinWait2: return 5;
        case tcp::State::TimeWait: return 6;
        case tcp::State::Closed: return 7;
        case tcp::State::CloseWait: return 8;
        case tcp::State::LastAck: return 9;
        case tcp::State::Listen: return 10;
        case tcp::State::Closing: return 11;
    }
    return 7;
}

int errno_for(tcp::CloseReason r, bool connected) {
    switch (r) {
        case tcp::CloseReason::Reset: return connected ? ECONNRESET : ECONNREFUSED;
        case tcp::CloseReason::Refused: return ECONNREFUSED;
        case tcp::CloseReason::Timeout: return ETIMEDOUT;
        case tcp::CloseReason::Normal:
        case tcp::CloseReason::Aborted: return 0;
    }
    return 0;
}

int errno_for(tcp::Error e) {
    switch (e) {
        case tcp::Error::None: return 0;
        case tcp::Error::Reset: return ECONNRESET;
        case tcp::Error::Refused: return ECONNREFUSED;
        case tcp::Error::TimedOut: return ETIMEDOUT;
        case tcp::Error::ConnectionClosing:
        case tcp::Error::EndOfStream:
        case tcp::Error::Aborted: return EPIPE;
        case tcp::Error::ConnectionDoesNotExist: return ENOTCONN;
        default: return EINVAL;
    }
}

// sockaddr -> address and port; false if the family is not the socket's or v4-mapped.
bool from_sockaddr(const sockaddr* sa, socklen_t len, int domain, wire::IpAddr& a,
                   uint16_t& port) {
    if (sa == nullptr) return false;
    if (domain == AF_INET && sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        a = wire::IpAddr::v4(ntohl(in->sin_addr.s_addr));
        port = ntohs(in->sin_port);
        return true;
    }
    if (domain == AF_INET6 && sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return false;
        a.family = wire::Family::V6;
        std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
        port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

void to_sockaddr(const wire::IpAddr& a, uint16_t port, sockaddr* sa, socklen_t* len) {
    if (sa == nullptr || len == nullptr) return;
    sockaddr_storage ss{};
    socklen_t n = 0;
    if (a.is_v4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(a.v4_host());
        n = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, a.bytes.data(), 16);
        n = sizeof(sockaddr_in6);
    }
    std::memcpy(sa, &ss, std::min(*len, n));
    *len = n;
}

template <typename T>
int get_value(void* val, socklen_t* len, const T& v) {
    if (val == nullptr || len == nullptr || *len < sizeof(T)) return fail(EINVAL);
    std::memcpy(val, &v, sizeof(T));
    *len = sizeof(T);
    return 0;
}

template <typename T>
bool read_value(const void* val, socklen_t len, T& out) {
    if (val == nullptr || len < sizeof(T)) return false;
    std::memcpy(&out, val, sizeof(T));
    return true;
}

bool init_eal(std::string& err) {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] {
        // Ordinary memory, no devices, no shared files: runs next to other DPDK processes.
        // argv ends with a null pointer, as getopt expects.
        const char* argv[] = {"sluice-packetdrill", "-l",       "0",           "--no-huge",
                              "-m",                 "256",      "--no-shconf", "--no-pci",
                              "--no-telemetry",     "--log-level=*:error", nullptr};
        // The host program (packetdrill) has parsed its own options: start getopt afresh
        // (see getopt_long below for why this goes through the main program's copy).
        auto* host_optind = static_cast<int*>(dlsym(dlopen(nullptr, RTLD_NOW), "optind"));
        const int saved = host_optind != nullptr ? *host_optind : 0;
        optind = 0;
        ok = rte_eal_init(int(std::size(argv)) - 1, const_cast<char**>(argv)) >= 0;
        if (host_optind != nullptr) *host_optind = saved;
    });
    if (!ok) err = "EAL initialisation failed";
    return ok;
}

}  // namespace

// --- set-up ---------------------------------------------------------------------------------

std::unique_ptr<Adapter> Adapter::create(const AdapterConfig& cfg, std::string& err) {
    if (!init_eal(err)) return nullptr;
    static std::atomic<int> instance{0};
    const std::string id = "pd" + std::to_string(instance++);
    std::unique_ptr<Adapter> a(new Adapter());
    a->cfg_ = cfg;
    a->driver_ = std::this_thread::get_id();
    a->now_ = a->polled_ = kStart;
    a->rx_ = rte_ring_create((id + "rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    a->tx_ = rte_ring_create((id + "tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (a->rx_ == nullptr || a->tx_ == nullptr) {
        err = "cannot create the port's rings";
        return nullptr;
    }
    if (rte_eth_from_rings(id.c_str(), &a->rx_, 1, &a->tx_, 1, 0) < 0) {
        err = "rte_eth_from_rings failed";
        return nullptr;
    }
    auto p = dev::open_port({.device = "net_ring_" + id, .mbufs_per_queue = 4095, .mbuf_cache = 0});
    if (!p) {
        err = p.error().message;
        return nullptr;
    }
    a->port_ = std::move(*p);
    std::memcpy(a->mac_.b.data(), a->port_.mac, 6);
    a->net_.address = cfg.local;
    a->net_.address6 = cfg.local6;
    a->counters_ = std::make_unique<Counters>();
    a->worker_ = std::make_unique<engine::Worker>(a->net_, a->port_, 0, *a->counters_);
    if (auto r = a->worker_->enable_tcp(cfg.host, kStart); !r) {
        err = r.error().message;
        return nullptr;
    }
    a->fds_.resize(kFirstFd);
    return a;
}

Adapter::~Adapter() {
    worker_.reset();
    const auto drain = [](rte_ring* r) {
        void* obj = nullptr;
        while (r != nullptr && rte_ring_dequeue(r, &obj) == 0)
            rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    };
    drain(rx_);
    drain(tx_);
    if (!port_.pools.empty()) dev::close_port(port_);  // frees the rings too
}

// --- the stack, the clock and the wire ------------------------------------------------------

void Adapter::enter() {
    if (polled_ != now_) run_stack();
}

Sock* Adapter::enter(int fd) {
    enter();
    return sock(fd);
}

void Adapter::run_stack() {
    // ARP or ND answers feed the RX ring again; 16 rounds is far more than any exchange needs.
    for (int round = 0; round < 16; ++round) {
        do {
            worker_->poll(now_);
        } while (rte_ring_count(rx_) > 0);
        if (!drain_tx()) break;
    }
    polled_ = now_;
    cv_.notify_all();
}

bool Adapter::inject(std::span<const uint8_t> frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
    if (m == nullptr) return false;
    if (frame.size() > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        return false;
    }
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame.data(), frame.size());
    m->data_len = uint16_t(frame.size());
    m->pkt_len = uint32_t(frame.size());
    if (rte_ring_enqueue(rx_, m) != 0) {
        rte_pktmbuf_free(m);
        return false;
    }
    return true;
}

bool Adapter::drain_tx() {
    bool fed = false;
    void* obj = nullptr;
    std::vector<uint8_t> frame;
    std::array<uint8_t, 128> reply{};
    while (rte_ring_dequeue(tx_, &obj) == 0) {
        auto* m = static_cast<rte_mbuf*>(obj);
        frame.resize(m->pkt_len);
        const auto* d = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, frame.data()));
        if (d != frame.data() && d != nullptr) std::memcpy(frame.data(), d, m->pkt_len);
        rte_pktmbuf_free(m);
        wire::Frame f;
        if (wire::parse_frame(frame, {}, f) != wire::Drop::None) continue;
        if (f.ether_type == wire::kEtherTypeArp) {
            wire::ArpPacket arp;
            if (wire::parse_arp(frame, f, arp) != wire::Drop::None) continue;
            if (arp.op != wire::kArpOpRequest) continue;
            // Every address answers with the peer's MAC: packetdrill's peer is one host.
            const size_t n = wire::build_arp(reply, wire::kArpOpReply, arp.sha, kPeerMac, arp.tpa,
                                             arp.sha, arp.spa);
            fed |= n > 0 && inject({reply.data(), n});
            continue;
        }
        if (f.ether_type == wire::kEtherTypeIpv6 && f.ip_proto == wire::kIpProtoIcmpv6) {
            wire::Icmp6Message msg;
            if (wire::parse_icmp6(frame, f, {}, msg) == wire::Drop::None &&
                msg.type == wire::kIcmp6NeighborSolicit) {
                const size_t n = wire::build_neighbor_advert(
                    reply, {.src_mac = kPeerMac, .dst_mac = f.src_mac, .src = msg.target,
                            .dst = f.src, .target = msg.target});
                fed |= n > 0 && inject({reply.data(), n});
                continue;
            }
        }
        if (f.ether_type != wire::kEtherTypeIpv4 && f.ether_type != wire::kEtherTypeIpv6) continue;
        out_.push_back({std::vector<uint8_t>(frame.begin() + f.l3_off, frame.end()),
                        kEpochUsecs + (now_ - kStart).count() / 1000});
    }
    return fed;
}

void Adapter::advance_to(Instant t) {
    while (now_ < t) {
        // With no timer armed nothing can happen on the way: jump.
        now_ = host().timers_pending() == 0 ? t : std::min(t, now_ + kStep);
        run_stack();
    }
    enter();
}

// Tells the stack where `remote` is before a connect(), as a neighbour's own ARP request
// would, so that the SYN leaves at once instead of after address resolution.
void Adapter::prime_neighbor(const wire::IpAddr& remote) {
    std::array<uint8_t, 128> buf{};
    const size_t n =
        remote.is_v4()
            ? wire::build_arp(buf, wire::kArpOpRequest, wire::MacAddr::broadcast(), kPeerMac,
                              remote, wire::MacAddr{}, net_.address.addr)
            : wire::build_neighbor_solicit(buf, kPeerMac, remote, net_.address6->addr);
    if (n > 0 && inject({buf.data(), n})) run_stack();
    // Our answer to it is swallowed here, not shown to packetdrill.
}

template <typename Ready>
int Adapter::block_until(Lock& lk, bool nonblock, Duration timeout, Ready ready) {
    if (ready()) return 0;
    if (nonblock) return EAGAIN;
    const bool timed = timeout > Duration::zero();
    const Instant deadline = now_ + timeout;
    const Instant give_up = now_ + kMaxSelfAdvance;
    for (;;) {
        if (timed && now_ >= deadline) return EAGAIN;
        if (std::this_thread::get_id() == driver_) {
            // Nobody else moves the clock: run the stack forward to the next tick.
            if (now_ >= give_up) return EDEADLK;
            if (host().timers_pending() == 0 && !timed) return EDEADLK;
            Instant next = host().timers_pending() == 0 ? deadline : now_ + kStep;
            if (timed) next = std::min(next, deadline);
            now_ = next;
            run_stack();
        } else {
            cv_.wait(lk);  // the driver runs the stack and wakes us
        }
        if (ready()) return 0;
    }
}

int Adapter::netdev_send(const void* buf, size_t count) {
    Lock lk(mu_);
    driver_ = std::this_thread::get_id();
    enter();
    const auto* p = static_cast<const uint8_t*>(buf);
    if (p == nullptr || count < 20) return fail(EINVAL);
    const uint8_t version = p[0] >> 4;
    if (version != 4 && version != 6) return fail(EINVAL);
    std::vector<uint8_t> frame(wire::kEthHdrLen + count);
    std::memcpy(frame.data(), mac_.b.data(), 6);
    std::memcpy(frame.data() + 6, kPeerMac.b.data(), 6);
    const uint16_t type = version == 4 ? wire::kEtherTypeIpv4 : wire::kEtherTypeIpv6;
    frame[12] = uint8_t(type >> 8);
    frame[13] = uint8_t(type);
    std::memcpy(frame.data() + wire::kEthHdrLen, p, count);
    if (!inject(frame)) return fail(ENOBUFS);
    run_stack();
    return 0;
}

int Adapter::netdev_receive(void* buf, size_t* count, long long* time_usecs) {
    Lock lk(mu_);
    driver_ = std::this_thread::get_id();
    enter();
    if (count == nullptr || time_usecs == nullptr) return fail(EINVAL);
    // Run the clock until the stack sends something. If nothing is armed that could send,
    // an empty packet says so (packetdrill reports it as a 0-byte packet, not a hang).
    const Instant give_up = now_ + kMaxSelfAdvance;
    while (out_.empty() && host().timers_pending() > 0 && now_ < give_up) {
        now_ += kStep;
        run_stack();
    }
    if (out_.empty()) {
        *count = 0;
        *time_usecs = kEpochUsecs + (now_ - kStart).count() / 1000;
        return 0;
    }
    Out& o = out_.front();
    const size_t n = std::min(*count, o.packet.size());
    std::memcpy(buf, o.packet.data(), n);
    *count = n;
    *time_usecs = o.usecs;
    out_.pop_front();
    return 0;
}

int Adapter::usleep(useconds_t usec) {
    Lock lk(mu_);
    driver_ = std::this_thread::get_id();
    advance_to(now_ + std::chrono::microseconds(usec));
    return 0;
}

int Adapter::gettimeofday(timeval* tv) {
    Lock lk(mu_);
    const long long us = kEpochUsecs + (now_ - kStart).count() / 1000;
    if (tv != nullptr) {
        tv->tv_sec = time_t(us / 1'000'000);
        tv->tv_usec = suseconds_t(us % 1'000'000);
    }
    // Time passes as it is read: a caller spinning until a deadline gets there. The stack
    // catches up at the next call.
    now_ += 1us;
    return 0;
}

// --- sockets --------------------------------------------------------------------------------

Sock* Adapter::sock(int fd) {
    if (fd < 0 || size_t(fd) >= fds_.size()) return nullptr;
    return fds_[size_t(fd)].get();
}

int Adapter::new_fd(std::unique_ptr<Sock> s) {
    for (size_t i = kFirstFd; i < fds_.size(); ++i) {
        if (!fds_[i]) {
            fds_[i] = std::move(s);
            return int(i);
        }
    }
    fds_.push_back(std::move(s));
    return int(fds_.size() - 1);
}

Sock* Adapter::listener_on(uint16_t port) {
    for (auto& s : fds_) {
        if (s && s->kind == Sock::Kind::Listening && s->port == port) return s.get();
    }
    return nullptr;
}

void Adapter::on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx) {
    auto& a = *static_cast<Adapter*>(ctx);
    auto* c = static_cast<Conn*>(host.user(id));
    if (c == nullptr) {
        // A connection a listener accepted (connect() sets user() itself).
        if (a.in_connect_ || e.kind != tcp::EventKind::Connected) return;
        const auto st = host.status(id);
        if (!st) return;
        a.conns_.push_back(std::make_unique<Conn>());
        c = a.conns_.back().get();
        c->id = id;
        c->connected = true;
        c->remote.family = st->tuple.remote.addr.family == tcp::Family::Ipv6 ? wire::Family::V6
                                                                            : wire::Family::V4;
        c->remote.bytes = st->tuple.remote.addr.bytes;
        c->remote_port = st->tuple.remote.port;
        host.user(id) = c;
        Sock* l = a.listener_on(st->tuple.local.port);
        if (l == nullptr) {
            // Its listening socket was closed (TcpHost keeps answering SYNs): reset, as
            // Linux resets what arrives for a closed listener.
            c->orphan = true;
            host.abort(id, a.now_);
            return;
        }
        a.apply_options(*l, *c);
        l->accept_q.push_back(c);
        return;
    }
    switch (e.kind) {
        case tcp::EventKind::Connected: c->connected = true; break;
        case tcp::EventKind::Closed:
            c->closed = true;
            c->error = errno_for(e.reason, c->connected);
            if (c->error != 0) c->so_error = c->error;
            break;
        default: break;
    }
}

void Adapter::apply_options(Sock& s, Conn& c) {
    if (c.closed) return;
    host().set_nodelay(c.id, s.nodelay, now_);
    if (s.keepalive) {
        host().set_keepalive(c.id, true, s.keepidle, s.keepintvl, s.keepcnt, now_);
    } else if (host().status(c.id) && host().status(c.id)->keepalive) {
        host().set_keepalive(c.id, false, s.keepidle, s.keepintvl, s.keepcnt, now_);
    }
}

int Adapter::socket(int domain, int type, int protocol) {
    Lock lk(mu_);
    enter();
    if (domain != AF_INET && domain != AF_INET6) return fail(EAFNOSUPPORT);
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return fail(EPROTONOSUPPORT);
    if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
    auto s = std::make_unique<Sock>();
    s->domain = domain;
    s->nonblock = (type & SOCK_NONBLOCK) != 0;
    const tcp::Config& t = cfg_.host.tcp;
    s->nodelay = !t.nagle;
    s->keepidle = t.keepalive_idle;
    s->keepintvl = t.keepalive_interval;
    s->keepcnt = t.keepalive_count;
    return new_fd(std::move(s));
}

int Adapter::bind(int fd, const sockaddr* addr, socklen_t len) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->bound || s->kind != Sock::Kind::Fresh) return fail(EINVAL);
    wire::IpAddr a;
    uint16_t port = 0;
    if (!from_sockaddr(addr, len, s->domain, a, port)) return fail(EAFNOSUPPORT);
    const bool any = a == wire::IpAddr{a.family, {}};
    if (!any && !worker_->is_local(a)) return fail(EADDRNOTAVAIL);
    if (port == 0) return fail(EOPNOTSUPP);  // sluice picks ports only for its own connects
    for (auto& o : fds_) {
        if (o && o->bound && o->port == port && o->kind == Sock::Kind::Listening)
            return fail(EADDRINUSE);
    }
    s->bound = true;
    s->bound_addr = a;
    s->port = port;
    return 0;
}

int Adapter::listen(int fd, int backlog) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->kind == Sock::Kind::Listening) {
        s->backlog = backlog;
        return 0;
    }
    if (s->kind != Sock::Kind::Fresh) return fail(EINVAL);
    if (!s->bound) return fail(EOPNOTSUPP);  // no auto-bind to an ephemeral port
    if (listener_on(s->port) != nullptr) return fail(EADDRINUSE);
    if (std::find(host_listeners_.begin(), host_listeners_.end(), s->port) ==
        host_listeners_.end()) {
        const engine::AppHandlers h{.on_event = on_event, .on_timer = nullptr, .ctx = this};
        auto r = host().listen(s->port, h, {.send_buffer = s->sndbuf}, now_);
        if (!r) return fail(r.error().code != 0 ? r.error().code : EADDRINUSE);
        host_listeners_.push_back(s->port);
    }
    s->kind = Sock::Kind::Listening;
    s->backlog = backlog;
    return 0;
}

int Adapter::accept(int fd, sockaddr* addr, socklen_t* len) {
    Lock lk(mu_);
    Sock* l = enter(fd);
    if (l == nullptr) return fail(EBADF);
    if (l->kind != Sock::Kind::Listening) return fail(EINVAL);
    const int e = block_until(lk, l->nonblock, l->rcvtimeo, [&] {
        l = sock(fd);  // closed meanwhile by another thread?
        return l == nullptr || l->kind != Sock::Kind::Listening || !l->accept_q.empty();
    });
    if (e != 0) return fail(e);
    if (l == nullptr || l->kind != Sock::Kind::Listening) return fail(EBADF);
    Conn* c = l->accept_q.front();
    l->accept_q.pop_front();
    auto s = std::make_unique<Sock>(*l);  // options are inherited, as on Linux
    s->kind = Sock::Kind::Connection;
    s->accept_q.clear();
    s->conn = c;
    s->nonblock = false;  // accept4() flags are not inherited from the listener
    to_sockaddr(c->remote, c->remote_port, addr, len);
    return new_fd(std::move(s));
}

int Adapter::connect(int fd, const sockaddr* addr, socklen_t len) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->kind == Sock::Kind::Listening) return fail(EISCONN);
    if (s->kind == Sock::Kind::Fresh) {
        if (s->bound) return fail(EOPNOTSUPP);  // sluice chooses the local port (RSS)
        wire::IpAddr remote;
        uint16_t port = 0;
        if (!from_sockaddr(addr, len, s->domain, remote, port)) return fail(EAFNOSUPPORT);
        if (!remote.is_v4() && !net_.address6) return fail(ENETUNREACH);
        prime_neighbor(remote);
        const engine::AppHandlers h{.on_event = on_event, .on_timer = nullptr, .ctx = this};
        in_connect_ = true;
        auto r = host().connect(remote, port, h, {.send_buffer = s->sndbuf, .recv_buffer = s->rcvbuf},
                                now_);
        in_connect_ = false;
        if (!r) return fail(r.error().code != 0 ? r.error().code : ENOBUFS);
        conns_.push_back(std::make_unique<Conn>());
        Conn* c = conns_.back().get();
        c->id = *r;
        c->remote = remote;
        c->remote_port = port;
        host().user(c->id) = c;
        s->kind = Sock::Kind::Connection;
        s->conn = c;
        apply_options(*s, *c);
        run_stack();  // the SYN leaves now
        if (s->nonblock) return fail(EINPROGRESS);
    } else if (s->conn->connected) {
        return fail(EISCONN);
    } else if (s->nonblock && !s->conn->closed) {
        return fail(EALREADY);
    }
    Conn* c = s->conn;
    const int e = block_until(lk, false, s->sndtimeo, [&] { return c->connected || c->closed; });
    if (e == EAGAIN) return fail(EINPROGRESS);  // SO_SNDTIMEO passed, as Linux
    if (e != 0) return fail(e);
    if (c->closed && c->error != 0) {
        const int err = c->error;
        c->error = c->so_error = 0;
        return fail(err);
    }
    return 0;
}

ssize_t Adapter::recv_conn(Sock& s, std::span<uint8_t> out) {
    Conn* c = s.conn;
    ssize_t got = -1;
    int err = 0;
    const auto ready = [&] {
        if (s.shut_rd) {
            got = 0;
            return true;
        }
        if (!c->closed) {
            const tcp::IoResult r = host().receive(c->id, out, now_);
            if (r.bytes > 0) {
                got = ssize_t(r.bytes);
                return true;
            }
            if (r.error == tcp::Error::EndOfStream || r.error == tcp::Error::ConnectionClosing) {
                got = 0;
                return true;
            }
            if (r.error == tcp::Error::None || !c->connected) return false;
            err = errno_for(r.error);
            return true;
        }
        if (c->error != 0) {
            err = c->error;
            c->error = c->so_error = 0;
        } else {
            got = 0;
        }
        return true;
    };
    return ready() ? (err != 0 ? fail(err) : got) : -2;  // -2: would block
}

ssize_t Adapter::recv(int fd, std::span<const iovec> iov, int flags, sockaddr* from,
                      socklen_t* len) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) != 0) return fail(EOPNOTSUPP);
    if (s->kind != Sock::Kind::Connection) return fail(ENOTCONN);
    size_t total = 0;
    for (const iovec& v : iov) total += v.iov_len;
    std::vector<uint8_t> buf(total);
    if (total == 0) return 0;
    ssize_t got = -2;
    const bool nonblock = s->nonblock || (flags & MSG_DONTWAIT) != 0;
    const int e = block_until(lk, nonblock, s->rcvtimeo, [&] {
        got = recv_conn(*s, buf);
        return got != -2;
    });
    if (e != 0) return fail(e);
    if (got < 0) return got;  // errno set by recv_conn
    size_t off = 0;
    for (const iovec& v : iov) {
        const size_t n = std::min(v.iov_len, size_t(got) - off);
        std::memcpy(v.iov_base, buf.data() + off, n);
        off += n;
    }
    to_sockaddr(s->conn->remote, s->conn->remote_port, from, len);
    return got;
}

ssize_t Adapter::send(int fd, std::span<const iovec> iov, int flags) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) != 0) return fail(EOPNOTSUPP);
    // Writing to a socket that never connected is EPIPE on Linux (sk_stream_wait_connect).
    if (s->kind != Sock::Kind::Connection) return fail(EPIPE);
    if (s->shut_wr) return fail(EPIPE);
    std::vector<uint8_t> data;
    for (const iovec& v : iov) {
        const auto* p = static_cast<const uint8_t*>(v.iov_base);
        data.insert(data.end(), p, p + v.iov_len);
    }
    Conn* c = s->conn;
    const bool nonblock = s->nonblock || (flags & MSG_DONTWAIT) != 0;
    size_t sent = 0;
    int err = 0;
    const int e = block_until(lk, nonblock, s->sndtimeo, [&] {
        if (c->closed) {
            err = c->error != 0 ? c->error : EPIPE;
            c->error = c->so_error = 0;
            return true;
        }
        if (!c->connected) return false;
        const tcp::IoResult r =
            host().send(c->id, std::span<const uint8_t>(data).subspan(sent), now_);
        sent += r.bytes;
        if (r.error != tcp::Error::None) {
            err = errno_for(r.error);
            return true;
        }
        return sent == data.size() || (nonblock && sent > 0);
    });
    run_stack();  // what send() queued leaves now
    if (sent > 0) return ssize_t(sent);
    if (err != 0) return fail(err);
    if (e != 0) return fail(e);
    return 0;
}

int Adapter::fcntl(int fd, int cmd, long arg) {
    Lock lk(mu_);
    Sock* s = sock(fd);
    if (s == nullptr) return fail(EBADF);
    switch (cmd) {
        case F_GETFL: return O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
        case F_SETFL: s->nonblock = (arg & O_NONBLOCK) != 0; return 0;
        case F_GETFD: return 0;
        case F_SETFD: return 0;  // close-on-exec: nothing is exec'd here
        default: return fail(EOPNOTSUPP);
    }
}

int Adapter::ioctl(int fd, unsigned long request, void* arg) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    auto* out = static_cast<int*>(arg);
    if (request == FIONBIO) {
        if (out == nullptr) return fail(EFAULT);
        s->nonblock = *out != 0;
        return 0;
    }
    if (request == FIONREAD || request == SIOCOUTQ) {
        if (out == nullptr) return fail(EFAULT);
        if (s->kind != Sock::Kind::Connection) return fail(EINVAL);
        const auto st = s->conn->closed ? std::nullopt : host().status(s->conn->id);
        *out = !st ? 0 : int(request == FIONREAD ? st->recv_queued : st->send_queued);
        return 0;
    }
    return fail(EOPNOTSUPP);
}

int Adapter::close(int fd) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->kind == Sock::Kind::Listening) {
        // Connections nobody accepted are reset, as Linux does (inet_csk_listen_stop).
        for (Conn* c : s->accept_q) {
            c->orphan = true;
            if (!c->closed) host().abort(c->id, now_);
        }
    } else if (s->kind == Sock::Kind::Connection) {
        Conn* c = s->conn;
        c->orphan = true;
        if (!c->closed) {
            // SO_LINGER with a zero timeout: ABORT, a RST (RFC 9293 3.10.5).
            if (s->linger && s->linger_secs == 0) {
                host().abort(c->id, now_);
            } else {
                host().close(c->id, now_);
            }
        }
    }
    fds_[size_t(fd)].reset();
    run_stack();
    return 0;
}

int Adapter::shutdown(int fd, int how) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(EINVAL);
    if (s->kind != Sock::Kind::Connection) return fail(ENOTCONN);
    if (how != SHUT_WR) s->shut_rd = true;
    if (how != SHUT_RD && !s->shut_wr) {
        s->shut_wr = true;
        if (!s->conn->closed) host().shutdown_send(s->conn->id, now_);
    }
    run_stack();
    return 0;
}

void Adapter::fill_tcp_info(const Sock& s, tcp_info& ti) {
    ti = {};
    if (s.kind == Sock::Kind::Listening) {
        ti.tcpi_state = linux_state(tcp::State::Listen);
        return;
    }
    ti.tcpi_state = linux_state(tcp::State::Closed);
    if (s.kind != Sock::Kind::Connection || s.conn->closed) return;
    const auto st = host().status(s.conn->id);
    if (!st) return;
    const auto us = [](Duration d) {
        return uint32_t(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    ti.tcpi_state = linux_state(st->state);
    ti.tcpi_rto = us(st->rto);
    ti.tcpi_rtt = us(st->srtt);
    ti.tcpi_rttvar = us(st->rttvar);
    ti.tcpi_snd_mss = st->send_mss;
    const uint32_t mss = std::max<uint32_t>(st->send_mss, 1);
    ti.tcpi_snd_cwnd = st->cwnd / mss;  // Linux counts segments
    ti.tcpi_snd_ssthresh = st->ssthresh / mss;
    if (const engine::ConnStats* cs = host().conn_stats(s.conn->id))
        ti.tcpi_total_retrans = uint32_t(cs->retransmits);
    ti.tcpi_options = uint8_t((st->ts_ok ? TCPI_OPT_TIMESTAMPS : 0) |
                              (st->sack_ok ? TCPI_OPT_SACK : 0) |
                              (st->ws_ok ? TCPI_OPT_WSCALE : 0));
    ti.tcpi_snd_wscale = st->snd_wscale & 0xf;
    ti.tcpi_rcv_wscale = st->rcv_wscale & 0xf;
}

int Adapter::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    const bool live = s->kind == Sock::Kind::Connection && !s->conn->closed;
    if (level == SOL_SOCKET) {
        switch (name) {
            case SO_ERROR: {
                int e = 0;
                if (s->conn != nullptr) {
                    e = s->conn->so_error;
                    s->conn->so_error = 0;
                }
                return get_value(val, len, e);
            }
            case SO_TYPE: return get_value(val, len, int(SOCK_STREAM));
            case SO_KEEPALIVE: return get_value(val, len, int(s->keepalive));
            case SO_REUSEADDR: return get_value(val, len, int(s->reuseaddr));
            case SO_LINGER: return get_value(val, len, linger{s->linger ? 1 : 0, s->linger_secs});
            case SO_RCVBUF:
            case SO_SNDBUF: {
                const engine::ConnStats* cs = live ? host().conn_stats(s->conn->id) : nullptr;
                const bool rcv = name == SO_RCVBUF;
                uint32_t v = rcv ? s->rcvbuf : s->sndbuf;
                if (cs != nullptr) v = rcv ? cs->recv_buffer : cs->send_buffer;
                if (v == 0) v = rcv ? cfg_.host.tcp.recv_buffer : cfg_.host.tcp.send_buffer;
                return get_value(val, len, int(v));
            }
            default: return fail(ENOPROTOOPT);
        }
    }
    if (level != IPPROTO_TCP) return fail(ENOPROTOOPT);
    switch (name) {
        case TCP_NODELAY:
            return get_value(val, len, int(live ? host().nodelay(s->conn->id) : s->nodelay));
        case TCP_KEEPIDLE:
            return get_value(val, len,
                             int(std::chrono::duration_cast<std::chrono::seconds>(s->keepidle).count()));
        case TCP_KEEPINTVL:
            return get_value(
                val, len, int(std::chrono::duration_cast<std::chrono::seconds>(s->keepintvl).count()));
        case TCP_KEEPCNT: return get_value(val, len, int(s->keepcnt));
        case TCP_MAXSEG: {
            const auto st = live ? host().status(s->conn->id) : std::nullopt;
            return get_value(val, len, int(st && st->send_mss ? st->send_mss : cfg_.host.tcp.mss));
        }
        case TCP_INFO: {
            if (val == nullptr || len == nullptr) return fail(EINVAL);
            tcp_info ti;
            fill_tcp_info(*s, ti);
            const socklen_t n = std::min<socklen_t>(*len, sizeof ti);
            std::memcpy(val, &ti, n);
            *len = n;
            return 0;
        }
        default: return fail(ENOPROTOOPT);
    }
}

int Adapter::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
    Lock lk(mu_);
    Sock* s = enter(fd);
    if (s == nullptr) return fail(EBADF);
    const bool live = s->kind == Sock::Kind::Connection && !s->conn->closed;
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
            case SO_LINGER: {
                linger l{};
                if (!read_value(val, len, l)) return fail(EINVAL);
                // Only the abortive close maps onto sluice; a close that blocks does not.
                if (l.l_onoff != 0 && l.l_linger != 0) return fail(EOPNOTSUPP);
                s->linger = l.l_onoff != 0;
                s->linger_secs = 0;
                return 0;
            }
            case SO_KEEPALIVE:
                if (!read_value(val, len, v)) return fail(EINVAL);
                s->keepalive = v != 0;
                if (live) apply_options(*s, *s->conn);
                run_stack();
                return 0;
            case SO_REUSEADDR:
                // sluice never refuses a listener's port for TIME-WAIT entries: always on.
                if (!read_value(val, len, v)) return fail(EINVAL);
                s->reuseaddr = v != 0;
                return 0;
            case SO_RCVBUF:
            case SO_SNDBUF: {
                if (!read_value(val, len, v) || v <= 0) return fail(EINVAL);
                // Ring sizes are chosen before the SYN; a live connection cannot change them.
                if (s->kind == Sock::Kind::Connection) return fail(EOPNOTSUPP);
                const uint32_t cap =
                    name == SO_RCVBUF ? cfg_.host.tcp.recv_buffer : cfg_.host.tcp.send_buffer;
                (name == SO_RCVBUF ? s->rcvbuf : s->sndbuf) = std::min<uint32_t>(uint32_t(v), cap);
                return 0;
            }
            case SO_RCVTIMEO:
            case SO_SNDTIMEO: {
                timeval tv{};
                if (!read_value(val, len, tv) || tv.tv_sec < 0 || tv.tv_usec < 0)
                    return fail(EINVAL);
                const Duration d = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
                (name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo) = d;
                return 0;
            }
            default: return fail(ENOPROTOOPT);
        }
    }
    if (level != IPPROTO_TCP) return fail(ENOPROTOOPT);
    if (!read_value(val, len, v)) return fail(EINVAL);
    switch (name) {
        case TCP_NODELAY:
            s->nodelay = v != 0;
            if (live) host().set_nodelay(s->conn->id, s->nodelay, now_);
            run_stack();
            return 0;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
            if (v < 1 || v > 32767) return fail(EINVAL);  // Linux MAX_TCP_KEEPIDLE/INTVL
            (name == TCP_KEEPIDLE ? s->keepidle : s->keepintvl) = std::chrono::seconds(v);
            if (live && s->keepalive) apply_options(*s, *s->conn);
            return 0;
        case TCP_KEEPCNT:
            if (v < 1 || v > 127) return fail(EINVAL);  // Linux MAX_TCP_KEEPCNT
            s->keepcnt = uint8_t(v);
            if (live && s->keepalive) apply_options(*s, *s->conn);
            return 0;
        case TCP_MAXSEG:
            // A clamp at or above our MSS changes nothing (Linux only lowers it); a lower
            // per-socket MSS does not map onto sluice (so_flags mss= sets the stack's).
            if (v < int(cfg_.host.tcp.mss)) return fail(EOPNOTSUPP);
            return 0;
        default: return fail(ENOPROTOOPT);
    }
}

int Adapter::poll(pollfd* fds, nfds_t n, int timeout_ms) {
    Lock lk(mu_);
    enter();
    int ready_count = 0;
    const auto scan = [&] {
        ready_count = 0;
        for (nfds_t i = 0; i < n; ++i) {
            pollfd& p = fds[i];
            p.revents = 0;
            Sock* s = sock(p.fd);
            if (s == nullptr) {
                p.revents = POLLNVAL;
            } else if (s->kind == Sock::Kind::Listening) {
                if (!s->accept_q.empty()) p.revents |= POLLIN;
            } else if (s->kind == Sock::Kind::Connection) {
                Conn* c = s->conn;
                const auto st = c->closed ? std::nullopt : host().status(c->id);
                if (c->closed) p.revents |= POLLIN | POLLHUP;
                if (c->so_error != 0) p.revents |= POLLERR;
                if (st && (st->recv_queued > 0 || st->peer_closed)) p.revents |= POLLIN;
                if (st && st->peer_closed) p.revents |= POLLRDHUP;
                const engine::ConnStats* cs = st ? host().conn_stats(c->id) : nullptr;
                if (st && c->connected && !s->shut_wr && cs && st->send_queued < cs->send_buffer)
                    p.revents |= POLLOUT;
            } else {
                p.revents |= POLLOUT | POLLHUP;  // as Linux for an unconnected TCP socket
            }
            p.revents &= short(p.events | POLLERR | POLLHUP | POLLNVAL);
            if (p.revents != 0) ++ready_count;
        }
        return ready_count > 0;
    };
    const Duration timeout = timeout_ms > 0 ? Duration(std::chrono::milliseconds(timeout_ms))
                                            : Duration::zero();
    const int e = block_until(lk, timeout_ms == 0, timeout, scan);
    if (e == EAGAIN) return 0;  // timed out
    if (e != 0) return fail(e);
    return ready_count;
}

// --- the exported table ---------------------------------------------------------------------

namespace {

Adapter& A(void* u) { return *static_cast<Adapter*>(u); }

}  // namespace

}  // namespace sluice::packetdrill

using sluice::packetdrill::A;

// packetdrill loads us with RTLD_DEEPBIND, and its executable holds copy-relocated optind
// and optarg that libc's getopt reads and writes; inside our group (the EAL included) those
// names bind to libc's own, unused copies, so the EAL's "optind = 1" before each of its
// option scans would not reach getopt. This getopt_long, which the EAL binds to before
// libc's, carries the values across. (Without copy relocations both are one variable.)
extern "C" __attribute__((visibility("default"))) int getopt_long(
    int argc, char* const argv[], const char* shortopts, const struct option* longopts,
    int* longind) noexcept {
    using Fn = int (*)(int, char* const*, const char*, const struct option*, int*);
    static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getopt_long"));
    static void* const main_program = dlopen(nullptr, RTLD_NOW);
    static auto* const host_optind = static_cast<int*>(dlsym(main_program, "optind"));
    static auto* const host_optarg = static_cast<char**>(dlsym(main_program, "optarg"));
    if (host_optind != nullptr) *host_optind = optind;
    const int r = real(argc, argv, shortopts, longopts, longind);
    if (host_optind != nullptr) optind = *host_optind;
    if (host_optarg != nullptr) optarg = *host_optarg;
    return r;
}

static int pd_fail(int e) {
    errno = e;
    return -1;
}

static int pd_fcntl(void* u, int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const long arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, long) : 0;
    va_end(ap);
    return A(u).fcntl(fd, cmd, arg);
}

static int pd_ioctl(void* u, int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return A(u).ioctl(fd, request, arg);
}

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(
    const char* flags, packetdrill_interface* ifc) {
    using namespace sluice::packetdrill;
    AdapterConfig cfg = default_config();
    std::string err = parse_so_flags(flags != nullptr ? flags : "", cfg);
    std::unique_ptr<Adapter> adapter;
    if (err.empty()) adapter = Adapter::create(cfg, err);
    if (!adapter) {
        std::fprintf(stderr, "libsluice_packetdrill: %s\n", err.c_str());
        std::exit(2);  // packetdrill has no way to hear an error from init
    }
    *ifc = {};
    ifc->userdata = adapter.release();
    ifc->free = [](void* u) { delete &A(u); };
    ifc->socket = [](void* u, int d, int t, int p) { return A(u).socket(d, t, p); };
    ifc->bind = [](void* u, int fd, const sockaddr* a, socklen_t l) { return A(u).bind(fd, a, l); };
    ifc->listen = [](void* u, int fd, int b) { return A(u).listen(fd, b); };
    ifc->accept = [](void* u, int fd, sockaddr* a, socklen_t* l) { return A(u).accept(fd, a, l); };
    ifc->connect = [](void* u, int fd, const sockaddr* a, socklen_t l) {
        return A(u).connect(fd, a, l);
    };
    ifc->read = [](void* u, int fd, void* b, size_t n) {
        const iovec v{b, n};
        return A(u).recv(fd, {&v, 1}, 0, nullptr, nullptr);
    };
    ifc->readv = [](void* u, int fd, const iovec* v, int n) {
        if (n < 0) return ssize_t(pd_fail(EINVAL));
        return A(u).recv(fd, {v, size_t(n)}, 0, nullptr, nullptr);
    };
    ifc->recv = [](void* u, int fd, void* b, size_t n, int f) {
        const iovec v{b, n};
        return A(u).recv(fd, {&v, 1}, f, nullptr, nullptr);
    };
    ifc->recvfrom = [](void* u, int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l) {
        const iovec v{b, n};
        return A(u).recv(fd, {&v, 1}, f, a, l);
    };
    ifc->recvmsg = [](void* u, int fd, msghdr* m, int f) {
        if (m == nullptr || m->msg_iovlen > 1024) return ssize_t(pd_fail(EINVAL));
        m->msg_controllen = 0;
        m->msg_flags = 0;
        return A(u).recv(fd, {m->msg_iov, m->msg_iovlen}, f, static_cast<sockaddr*>(m->msg_name),
                         m->msg_name != nullptr ? &m->msg_namelen : nullptr);
    };
    ifc->write = [](void* u, int fd, const void* b, size_t n) {
        const iovec v{const_cast<void*>(b), n};
        return A(u).send(fd, {&v, 1}, 0);
    };
    ifc->writev = [](void* u, int fd, const iovec* v, int n) {
        if (n < 0) return ssize_t(pd_fail(EINVAL));
        return A(u).send(fd, {v, size_t(n)}, 0);
    };
    ifc->send = [](void* u, int fd, const void* b, size_t n, int f) {
        const iovec v{const_cast<void*>(b), n};
        return A(u).send(fd, {&v, 1}, f);
    };
    // The destination of a connected TCP socket's sendto() is ignored, as on Linux.
    ifc->sendto = [](void* u, int fd, const void* b, size_t n, int f, const sockaddr*, socklen_t) {
        const iovec v{const_cast<void*>(b), n};
        return A(u).send(fd, {&v, 1}, f);
    };
    ifc->sendmsg = [](void* u, int fd, const msghdr* m, int f) {
        if (m == nullptr || m->msg_iovlen > 1024) return ssize_t(pd_fail(EINVAL));
        if (m->msg_controllen != 0) return ssize_t(pd_fail(EOPNOTSUPP));  // no cmsgs
        return A(u).send(fd, {m->msg_iov, m->msg_iovlen}, f);
    };
    ifc->fcntl = pd_fcntl;
    ifc->ioctl = pd_ioctl;
    ifc->close = [](void* u, int fd) { return A(u).close(fd); };
    ifc->shutdown = [](void* u, int fd, int how) { return A(u).shutdown(fd, how); };
    ifc->getsockopt = [](void* u, int fd, int lv, int nm, void* v, socklen_t* l) {
        return A(u).getsockopt(fd, lv, nm, v, l);
    };
    ifc->setsockopt = [](void* u, int fd, int lv, int nm, const void* v, socklen_t l) {
        return A(u).setsockopt(fd, lv, nm, v, l);
    };
    ifc->poll = [](void* u, pollfd* f, nfds_t n, int t) { return A(u).poll(f, n, t); };
    ifc->netdev_send = [](void* u, const void* b, size_t n) { return A(u).netdev_send(b, n); };
    ifc->netdev_receive = [](void* u, void* b, size_t* n, long long* t) {
        return A(u).netdev_receive(b, n, t);
    };
    ifc->usleep = [](void* u, useconds_t us) { return A(u).usleep(us); };
    ifc->gettimeofday = [](void* u, timeval* tv, struct timezone*) {
        return A(u).gettimeofday(tv);
    };
    // Not supported: epoll, pipes, splice (-1, EOPNOTSUPP).
    ifc->epoll_create = [](void*, int) { return pd_fail(EOPNOTSUPP); };
    ifc->epoll_ctl = [](void*, int, int, int, epoll_event*) { return pd_fail(EOPNOTSUPP); };
    ifc->epoll_wait = [](void*, int, epoll_event*, int, int) { return pd_fail(EOPNOTSUPP); };
    ifc->pipe = [](void*, int*) { return pd_fail(EOPNOTSUPP); };
    ifc->splice = [](void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
        return pd_fail(EOPNOTSUPP);
    };
}

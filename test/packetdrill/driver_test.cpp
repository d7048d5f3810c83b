// The packetdrill adapter without packetdrill: loads libsluice_packetdrill.so with dlopen, as
// packetdrill's --so_filename does, and runs the seed exchanges through its function table:
// IPv4 packets in through netdev_send, the stack's packets out through netdev_receive, time
// from usleep/gettimeofday. Blocking calls run as packetdrill runs them: in a thread of their
// own while this thread drives packets and the clock, or in this thread, where they run the
// stack forward in virtual time themselves.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "packetdrill_abi.hpp"
#include "wire/build.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace {

constexpr uint32_t kLocal = 0xC6120001;   // 198.18.0.1, the adapter's default address
constexpr uint32_t kRemote = 0xC6120101;  // 198.18.1.1
constexpr uint16_t kLocalPort = 8080;
constexpr uint16_t kRemotePort = 40000;

// packetdrill's flags; AddressSanitizer refuses RTLD_DEEPBIND, so sanitizer builds go without.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

namespace F {
constexpr uint8_t Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;
}

// An IPv4/TCP packet from the remote peer (lib/wire builds an Ethernet frame; packetdrill
// speaks IP, so the Ethernet header is cut off), with an MSS option on SYNs.
std::vector<uint8_t> packet(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = {},
                            uint16_t dport = kLocalPort) {
    using namespace sluice::wire;
    std::vector<uint8_t> frame(2048);
    const L3Header l3{.src = IpAddr::v4(kRemote), .dst = IpAddr::v4(kLocal)};
    TcpHeaderSpec spec{.src_port = kRemotePort,
                       .dst_port = dport,
                       .seq = SeqNum(seq),
                       .ack = SeqNum(ack),
                       .flags = flags,
                       .window = 65535};
    if (flags & F::Syn) {
        spec.options.has_mss = true;
        spec.options.mss = 1460;
    }
    const size_t n = build_tcp(frame, l3, spec,
                               {reinterpret_cast<const uint8_t*>(data.data()), data.size()},
                               CsumMode::Software);
    EXPECT_GT(n, kEthHdrLen);
    return {frame.begin() + kEthHdrLen, frame.begin() + std::ptrdiff_t(n)};
}

struct Seg {
    uint8_t flags = 0;
    uint16_t sport = 0;
    uint32_t seq = 0, ack = 0;
    std::string data;
    long long usecs = 0;
};

class Driver : public ::testing::Test {
protected:
    void SetUp() override { open(""); }
    void TearDown() override { close_lib(); }

    void open(const char* flags) {
        close_lib();
        handle_ = dlopen(SLUICE_PACKETDRILL_SO, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | kDeepBind);
        ASSERT_NE(handle_, nullptr) << dlerror();
        auto init = reinterpret_cast<packetdrill_interface_init_t>(
            dlsym(handle_, "packetdrill_interface_init"));
        ASSERT_NE(init, nullptr);
        init(flags, &ifc_);
        u_ = ifc_.userdata;
    }
    void close_lib() {
        if (handle_ == nullptr) return;
        ifc_.free(u_);
        dlclose(handle_);
        handle_ = nullptr;
    }

    void in(const std::vector<uint8_t>& p) { ASSERT_EQ(ifc_.netdev_send(u_, p.data(), p.size()), 0); }
    // The next packet the stack sends (the adapter runs the clock until one leaves).
    Seg out() {
        std::vector<uint8_t> buf(4096);
        size_t n = buf.size();
        long long t = 0;
        EXPECT_EQ(ifc_.netdev_receive(u_, buf.data(), &n, &t), 0);
        Seg s;
        s.usecs = t;
        if (n < 40) {
            ADD_FAILURE() << "no packet (" << n << " bytes)";
            return s;
        }
        // Parsed by lib/wire behind a made-up Ethernet header.
        std::vector<uint8_t> frame(sluice::wire::kEthHdrLen, 0);
        frame[12] = 0x08;  // IPv4
        frame.insert(frame.end(), buf.begin(), buf.begin() + std::ptrdiff_t(n));
        sluice::wire::Frame f;
        sluice::wire::TcpSegmentView v;
        if (sluice::wire::parse_frame(frame, {}, f) != sluice::wire::Drop::None ||
            sluice::wire::parse_tcp(frame, f, {}, v) != sluice::wire::Drop::None) {
            ADD_FAILURE() << "not a TCP packet";
            return s;
        }
        s.flags = v.flags;
        s.sport = v.src_port;
        s.seq = v.seq.raw();
        s.ack = v.ack.raw();
        s.data.assign(reinterpret_cast<const char*>(frame.data() + v.payload_off), v.payload_len);
        return s;
    }
    long long now_us() {
        timeval tv{};
        ifc_.gettimeofday(u_, &tv, nullptr);
        return (long long)tv.tv_sec * 1'000'000 + tv.tv_usec;
    }
    int listener() {
        const int fd = ifc_.socket(u_, AF_INET, SOCK_STREAM, IPPROTO_TCP);
        EXPECT_GE(fd, 3);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(kLocalPort);
        a.sin_addr.s_addr = htonl(kLocal);
        EXPECT_EQ(ifc_.bind(u_, fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(ifc_.listen(u_, fd, 8), 0);
        return fd;
    }
    // Passive open up to ESTABLISHED; returns the accepted fd and sets iss_ (our ISS).
    int accepted(int lfd) {
        in(packet(F::Syn, 1000, 0));
        const Seg sa = out();
        EXPECT_EQ(sa.flags, F::Syn | F::Ack);
        EXPECT_EQ(sa.ack, 1001u);
        iss_ = sa.seq;
        in(packet(F::Ack, 1001, iss_ + 1));
        const int fd = ifc_.accept(u_, lfd, nullptr, nullptr);
        EXPECT_GE(fd, 3);
        return fd;
    }
    int set_int(int fd, int level, int name, int v) {
        return ifc_.setsockopt(u_, fd, level, name, &v, sizeof v);
    }

    void* handle_ = nullptr;
    packetdrill_interface ifc_{};
    void* u_ = nullptr;
    uint32_t iss_ = 0;
};

TEST_F(Driver, PassiveHandshakeAndDataBothWays) {
    const int lfd = listener();
    const int fd = accepted(lfd);
    in(packet(F::Ack | F::Psh, 1001, iss_ + 1, "hello"));
    char buf[100];
    EXPECT_EQ(ifc_.read(u_, fd, buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
    const Seg ack = out();  // the delayed ACK, 40 ms later
    EXPECT_EQ(ack.flags, F::Ack);
    EXPECT_EQ(ack.ack, 1006u);
    ASSERT_EQ(set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
    EXPECT_EQ(ifc_.write(u_, fd, "world!", 6), 6);
    const Seg d = out();
    EXPECT_EQ(d.flags, F::Ack | F::Psh);
    EXPECT_EQ(d.seq, iss_ + 1);
    EXPECT_EQ(d.data, "world!");
    in(packet(F::Ack, 1006, iss_ + 7));
    tcp_info ti{};
    socklen_t len = sizeof ti;
    ASSERT_EQ(ifc_.getsockopt(u_, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    EXPECT_EQ(ti.tcpi_state, 1);  // TCP_ESTABLISHED
    EXPECT_EQ(ti.tcpi_snd_mss, 1460u);
    EXPECT_GT(ti.tcpi_rto, 0u);
}

TEST_F(Driver, ActiveOpenAndDataBothWays) {
    const int fd = ifc_.socket(u_, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kRemotePort);
    a.sin_addr.s_addr = htonl(kRemote);
    EXPECT_EQ(ifc_.connect(u_, fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
    EXPECT_EQ(errno, EINPROGRESS);
    const Seg syn = out();
    EXPECT_EQ(syn.flags, F::Syn);
    char rbuf[16];
    EXPECT_EQ(ifc_.read(u_, fd, rbuf, sizeof rbuf), -1);
    EXPECT_EQ(errno, EAGAIN);  // O_NONBLOCK: nothing yet
    EXPECT_EQ(ifc_.write(u_, fd, "x", 1), -1);
    EXPECT_EQ(errno, EAGAIN);  // not connected yet
    // The reply goes to the port the stack chose.
    in(packet(F::Syn | F::Ack, 5000, syn.seq + 1, {}, syn.sport));
    const Seg ack = out();
    EXPECT_EQ(ack.flags, F::Ack);
    EXPECT_EQ(ack.ack, 5001u);
    int err = -1;
    socklen_t len = sizeof err;
    ASSERT_EQ(ifc_.getsockopt(u_, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    EXPECT_EQ(err, 0);
    EXPECT_EQ(ifc_.write(u_, fd, "ping", 4), 4);
    const Seg d = out();
    EXPECT_EQ(d.data, "ping");
    in(packet(F::Ack | F::Psh, 5001, syn.seq + 5, "pong", syn.sport));
    EXPECT_EQ(ifc_.read(u_, fd, rbuf, sizeof rbuf), 4);
    EXPECT_EQ(std::string(rbuf, 4), "pong");
}

// A blocking connect in the driving thread runs the clock through the SYN retransmissions
// (so_flags syn_retries=2: at 1 s and 3 s, giving up at 7 s) and fails with ETIMEDOUT.
TEST_F(Driver, BlockingConnectTimesOutInVirtualTime) {
    open("syn_retries=2");
    const int fd = ifc_.socket(u_, AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kRemotePort);
    a.sin_addr.s_addr = htonl(kRemote);
    const long long before = now_us();
    EXPECT_EQ(ifc_.connect(u_, fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    EXPECT_GE(now_us() - before, 3'000'000);
    // The SYN and its retransmissions, in order, each a backed-off RTO after the last.
    const Seg s0 = out(), s1 = out(), s2 = out();
    EXPECT_EQ(s0.flags, F::Syn);
    EXPECT_EQ(s1.seq, s0.seq);
    EXPECT_EQ(s1.usecs - s0.usecs, 1'000'000);
    EXPECT_EQ(s2.usecs - s1.usecs, 2'000'000);
}

TEST_F(Driver, CloseFromOurSideReachesTimeWait) {
    const int fd = accepted(listener());
    EXPECT_EQ(ifc_.close(u_, fd), 0);
    const Seg fin = out();
    EXPECT_EQ(fin.flags, F::Fin | F::Ack);
    in(packet(F::Ack, 1001, iss_ + 2));
    in(packet(F::Fin | F::Ack, 1001, iss_ + 2));
    const Seg last = out();
    EXPECT_EQ(last.flags, F::Ack);
    EXPECT_EQ(last.ack, 1002u);
}

TEST_F(Driver, CloseFromPeerSideThroughLastAck) {
    const int fd = accepted(listener());
    in(packet(F::Fin | F::Ack, 1001, iss_ + 1));
    EXPECT_EQ(out().ack, 1002u);
    char buf[8];
    EXPECT_EQ(ifc_.read(u_, fd, buf, sizeof buf), 0);  // end of stream
    EXPECT_EQ(ifc_.close(u_, fd), 0);
    const Seg fin = out();
    EXPECT_EQ(fin.flags, F::Fin | F::Ack);
    in(packet(F::Ack, 1002, iss_ + 2));
    // CLOSED: the next segment on the 4-tuple is answered with a RST.
    in(packet(F::Ack, 1002, iss_ + 2));
    EXPECT_EQ(out().flags & F::Rst, F::Rst);
}

TEST_F(Driver, RstInEstablishedFailsTheNextRead) {
    const int fd = accepted(listener());
    in(packet(F::Rst | F::Ack, 1001, iss_ + 1));
    char buf[8];
    EXPECT_EQ(ifc_.read(u_, fd, buf, sizeof buf), -1);
    EXPECT_EQ(errno, ECONNRESET);
}

TEST_F(Driver, LingerZeroCloseSendsRst) {
    const int fd = accepted(listener());
    const linger l{1, 0};
    ASSERT_EQ(ifc_.setsockopt(u_, fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    EXPECT_EQ(ifc_.close(u_, fd), 0);
    EXPECT_EQ(out().flags & F::Rst, F::Rst);
}

// packetdrill's way: accept() blocks in its own thread; this thread brings the handshake.
TEST_F(Driver, BlockingAcceptInAnotherThreadWaitsForTheHandshake) {
    const int lfd = listener();
    ifc_.usleep(u_, 0);  // this thread drives the clock
    int got = -1;
    std::thread t([&] { got = ifc_.accept(u_, lfd, nullptr, nullptr); });
    in(packet(F::Syn, 1000, 0));
    const Seg sa = out();
    ifc_.usleep(u_, 100'000);
    in(packet(F::Ack, 1001, sa.seq + 1));
    t.join();
    EXPECT_GE(got, 3);
}

// A blocking read in the driving thread runs the clock itself: SO_RCVTIMEO passes in
// virtual time, exactly.
TEST_F(Driver, BlockingReadTimesOutInVirtualTime) {
    const int fd = accepted(listener());
    const timeval tv{2, 0};
    ASSERT_EQ(ifc_.setsockopt(u_, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    const long long before = now_us();
    char buf[8];
    EXPECT_EQ(ifc_.read(u_, fd, buf, sizeof buf), -1);
    EXPECT_EQ(errno, EAGAIN);
    const long long waited = now_us() - before;
    EXPECT_GE(waited, 2'000'000);
    EXPECT_LT(waited, 2'000'010);  // a few gettimeofday microseconds
}

// A blocking read in another thread returns when data arrives at a later virtual time.
TEST_F(Driver, BlockingReadInAnotherThreadGetsLaterData) {
    const int fd = accepted(listener());
    ifc_.usleep(u_, 0);
    ssize_t got = 0;
    char buf[8];
    std::thread t([&] { got = ifc_.read(u_, fd, buf, sizeof buf); });
    ifc_.usleep(u_, 500'000);
    in(packet(F::Ack | F::Psh, 1001, iss_ + 1, "late"));
    t.join();
    EXPECT_EQ(got, 4);
}

TEST_F(Driver, PollWaitsInVirtualTimeAndSeesData) {
    const int fd = accepted(listener());
    pollfd p{fd, POLLIN, 0};
    const long long before = now_us();
    EXPECT_EQ(ifc_.poll(u_, &p, 1, 1500), 0);  // nothing to read: times out at 1.5 s
    EXPECT_GE(now_us() - before, 1'500'000);
    EXPECT_LT(now_us() - before, 1'500'010);
    in(packet(F::Ack | F::Psh, 1001, iss_ + 1, "abc"));
    p = {fd, POLLIN | POLLOUT, 0};
    EXPECT_EQ(ifc_.poll(u_, &p, 1, 0), 1);
    EXPECT_EQ(p.revents, POLLIN | POLLOUT);
    int queued = 0;
    EXPECT_EQ(ifc_.ioctl(u_, fd, FIONREAD, &queued), 0);
    EXPECT_EQ(queued, 3);
    p = {99, POLLIN, 0};
    EXPECT_EQ(ifc_.poll(u_, &p, 1, 0), 1);
    EXPECT_EQ(p.revents, POLLNVAL);
}

TEST_F(Driver, NonblockingCallsSayEagain) {
    const int lfd = listener();
    ASSERT_EQ(ifc_.fcntl(u_, lfd, F_SETFL, O_NONBLOCK), 0);
    EXPECT_EQ(ifc_.fcntl(u_, lfd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    EXPECT_EQ(ifc_.accept(u_, lfd, nullptr, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST_F(Driver, UnsupportedCallsFailCleanly) {
    const int fd = ifc_.socket(u_, AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    EXPECT_EQ(ifc_.setsockopt(u_, fd, IPPROTO_IP, IP_TOS, &one, sizeof one), -1);
    EXPECT_EQ(errno, ENOPROTOOPT);
    EXPECT_EQ(ifc_.setsockopt(u_, fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), -1);
    EXPECT_EQ(errno, ENOPROTOOPT);
    const linger l{1, 5};  // a close that blocks
    EXPECT_EQ(ifc_.setsockopt(u_, fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    EXPECT_EQ(ifc_.epoll_create(u_, 1), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    int p[2];
    EXPECT_EQ(ifc_.pipe(u_, p), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    EXPECT_EQ(ifc_.socket(u_, AF_INET, SOCK_DGRAM, 0), -1);
    EXPECT_EQ(errno, EPROTONOSUPPORT);
    EXPECT_EQ(ifc_.read(u_, 99, p, 1), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(ifc_.read(u_, fd, p, 1), -1);
    EXPECT_EQ(errno, ENOTCONN);  // never connected, as Linux
    EXPECT_EQ(ifc_.write(u_, fd, p, 1), -1);
    EXPECT_EQ(errno, EPIPE);
}

TEST_F(Driver, SoFlagsChooseTheConfiguration) {
    open("mss=1000,delack=0");
    const int fd = accepted(listener());
    int mss = 0;
    socklen_t len = sizeof mss;
    ASSERT_EQ(ifc_.getsockopt(u_, fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len), 0);
    EXPECT_EQ(mss, 1000);  // min(ours, the peer's 1460)
    in(packet(F::Ack | F::Psh, 1001, iss_ + 1, "x"));
    const long long sent = now_us();
    const Seg ack = out();  // delack=0: at once
    EXPECT_EQ(ack.ack, 1002u);
    EXPECT_LT(ack.usecs - sent, 1000);
}

TEST(DriverDeath, UnknownSoFlagIsAnError) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // the EAL has threads running
    EXPECT_EXIT(
        {
            void* h = dlopen(SLUICE_PACKETDRILL_SO, RTLD_NOW | RTLD_LOCAL);
            auto init = reinterpret_cast<packetdrill_interface_init_t>(
                dlsym(h, "packetdrill_interface_init"));
            packetdrill_interface ifc{};
            init("wscale=8,bogus=1", &ifc);
        },
        ::testing::ExitedWithCode(2), "unknown key 'bogus'");
}

}  // namespace

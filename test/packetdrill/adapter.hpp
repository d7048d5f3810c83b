#pragma once
// libsluice_packetdrill.so: sluice behind packetdrill's shared-object interface
// (packetdrill_abi.hpp). One Worker with its TcpHost on an in-memory port (DPDK's net_ring),
// driven in the calling thread on a virtual clock:
//
//   packetdrill --netdev_send--> IP packet + Ethernet header --> RX ring --> Worker::poll(now)
//   packetdrill <--netdev_receive-- IP packet (Ethernet stripped) <-- TX ring <--+
//                                   ARP requests / Neighbor Solicitations answered here
//
// Time: usleep() advances the clock (running the stack at every 1 ms wheel tick on the way,
// so a timer's segment leaves at its tick), gettimeofday() reads it and moves it on by 1 us
// (packetdrill spins on it for the last microseconds before an event). Nothing reads a real
// clock, so a script's timing is exact on a loaded machine.
//
// Blocking calls: packetdrill runs a blocking call in a thread of its own while its main
// thread keeps injecting packets and sleeping. A blocking call from any thread other than
// the one driving the clock (the last to call usleep or netdev_*) waits for that driver; one
// from the driving thread itself runs the stack forward in virtual time until it can
// complete or its timeout passes, as a kernel would block. Every call holds one lock.
//
// Test-only code: it allocates freely.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dev/port.hpp"
#include "engine/worker.hpp"
#include "packetdrill_abi.hpp"
#include "so_flags.hpp"

struct rte_ring;
struct tcp_info;

namespace sluice::packetdrill {

struct Conn;
struct Sock;

class Adapter {
public:
    // Sets up the EAL (once per process), the port and the worker; nullptr and `err` on failure.
    static std::unique_ptr<Adapter> create(const AdapterConfig& cfg, std::string& err);
    ~Adapter();

    // The function table's calls, one for one; errors set errno and return -1.
    int socket(int domain, int type, int protocol);
    int bind(int fd, const sockaddr* addr, socklen_t len);
    int listen(int fd, int backlog);
    int accept(int fd, sockaddr* addr, socklen_t* len);
    int connect(int fd, const sockaddr* addr, socklen_t len);
    ssize_t recv(int fd, std::span<const iovec> iov, int flags, sockaddr* from, socklen_t* len);
    ssize_t send(int fd, std::span<const iovec> iov, int flags);
    int fcntl(int fd, int cmd, long arg);
    int ioctl(int fd, unsigned long request, void* arg);
    int close(int fd);
    int shutdown(int fd, int how);
    int getsockopt(int fd, int level, int name, void* val, socklen_t* len);
    int setsockopt(int fd, int level, int name, const void* val, socklen_t len);
    int poll(pollfd* fds, nfds_t n, int timeout_ms);
    int netdev_send(const void* buf, size_t count);
    int netdev_receive(void* buf, size_t* count, long long* time_usecs);
    int usleep(useconds_t usec);
    int gettimeofday(timeval* tv);

private:
    using Lock = std::unique_lock<std::mutex>;
    Adapter() = default;

    engine::TcpHost& host() { return *worker_->tcp(); }
    Sock* sock(int fd);
    int new_fd(std::unique_ptr<Sock> s);
    void enter();           // runs the stack at now_ if the clock moved since it last ran
    Sock* enter(int fd);    // the same, then the socket of fd (nullptr: not open)
    void run_stack();       // polls until nothing more is in flight inside, collects output
    bool drain_tx();        // true if it answered a neighbour request (more input)
    bool inject(std::span<const uint8_t> frame);
    void advance_to(time::Instant t);
    void prime_neighbor(const wire::IpAddr& remote);
    // Waits until ready() (returns 0), or returns EAGAIN (nonblock, or the timeout passed in
    // virtual time) or EDEADLK (the driving thread itself blocks and nothing can ever happen).
    template <typename Ready>
    int block_until(Lock& lk, bool nonblock, time::Duration timeout, Ready ready);
    // One attempt at a read: bytes, 0 (end of stream), -1 (errno set) or -2 (would block).
    ssize_t recv_conn(Sock& s, std::span<uint8_t> out);
    void apply_options(Sock& s, Conn& c);
    void fill_tcp_info(const Sock& s, tcp_info& ti);
    Sock* listener_on(uint16_t port);
    static void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e,
                         void* ctx);

    AdapterConfig cfg_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread::id driver_;
    time::Instant now_, polled_;
    rte_ring* rx_ = nullptr;
    rte_ring* tx_ = nullptr;
    dev::Port port_;
    engine::NetConfig net_;
    std::unique_ptr<Counters> counters_;
    std::unique_ptr<engine::Worker> worker_;
    wire::MacAddr mac_;
    std::vector<std::unique_ptr<Sock>> fds_;  // index = fd
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<uint16_t> host_listeners_;  // ports TcpHost listens on (it cannot stop)
    bool in_connect_ = false;               // events of a handle connect() has not returned
    struct Out {
        std::vector<uint8_t> packet;  // IP on
        long long usecs;
    };
    std::deque<Out> out_;
};

}  // namespace sluice::packetdrill

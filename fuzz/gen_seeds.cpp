// Writes the committed seed corpora: fuzz_gen_seeds <fuzz/corpus>. Not shipped; rerun it
// after changing a harness's input format (tcp_program.hpp) and commit the result.
//   fuzz_wire            frames built with the wire builders (ARP, ICMP echo, TCP over
//                        IPv4 and IPv6, Neighbor Discovery), and IPv6 frames from scapy
//   fuzz_tcp_options     option lists as write_tcp_options() writes them, and tight ones
//   fuzz_tcp_connection  programs that walk the state machine through its main paths

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tcp_program.hpp"
#include "wire/build.hpp"
#include "wire/ipv6.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"
#include "wire/tcp.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sluice;
using namespace sluice::fuzz::prog;
using Bytes = std::vector<uint8_t>;

fs::path g_root;

void write(const std::string& harness, const std::string& name, const Bytes& b) {
    const fs::path dir = g_root / harness;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// --- fuzz_wire --------------------------------------------------------------------------

const wire::MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x01}};
const wire::MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x02}};
const wire::IpAddr kIpA = wire::IpAddr::v4(0xc6120001);  // 198.18.0.1
const wire::IpAddr kIpB = wire::IpAddr::v4(0xc6120002);

wire::TcpOptions all_options() {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.has_wscale = true;
    o.wscale = 7;
    o.sack_permitted = true;
    o.has_timestamps = true;
    o.ts_val = 0x01020304;
    o.ts_ecr = 0;
    return o;
}

Bytes tcp_frame(uint8_t flags, uint32_t seq, uint32_t ack, const wire::TcpOptions& o,
                size_t payload_len, wire::CsumMode mode = wire::CsumMode::Software) {
    Bytes out(2048);
    Bytes payload(payload_len);
    for (size_t i = 0; i < payload_len; ++i) payload[i] = uint8_t('a' + i % 26);
    wire::L3Header l3{kMacB, kMacA, kIpB, kIpA};
    wire::TcpHeaderSpec t;
    t.src_port = 40000;
    t.dst_port = 80;
    t.seq = wire::SeqNum(seq);
    t.ack = wire::SeqNum(ack);
    t.flags = flags;
    t.window = 65535;
    t.options = o;
    out.resize(wire::build_tcp(out, l3, t, payload, mode));
    return out;
}

// An echo request, by hand (sluice only builds replies), optionally with IP options.
Bytes echo_request(size_t data_len, size_t ip_opt_words) {
    const size_t ihl = 20 + 4 * ip_opt_words;
    Bytes f(14 + ihl + 8 + data_len, 0);
    std::copy(kMacA.b.begin(), kMacA.b.end(), f.begin());
    std::copy(kMacB.b.begin(), kMacB.b.end(), f.begin() + 6);
    f[12] = 0x08;
    uint8_t* ip = f.data() + 14;
    ip[0] = uint8_t(0x40 | (ihl / 4));
    const size_t total = ihl + 8 + data_len;
    ip[2] = uint8_t(total >> 8);
    ip[3] = uint8_t(total);
    ip[4] = 0x12;
    ip[6] = 0x40;  // DF
    ip[8] = 64;
    ip[9] = wire::kIpProtoIcmp;
    std::copy(kIpB.bytes.begin(), kIpB.bytes.begin() + 4, ip + 12);
    std::copy(kIpA.bytes.begin(), kIpA.bytes.begin() + 4, ip + 16);
    for (size_t i = 20; i < ihl; ++i) ip[i] = 1;  // NOP options
    const uint16_t ipc = wire::ipv4_header_checksum(std::span(ip, ihl));
    ip[10] = uint8_t(ipc >> 8);
    ip[11] = uint8_t(ipc);
    uint8_t* icmp = ip + ihl;
    icmp[0] = 8;
    icmp[4] = 0x12;
    icmp[5] = 0x34;
    icmp[7] = 1;
    for (size_t i = 0; i < data_len; ++i) icmp[8 + i] = uint8_t(i);
    const uint16_t c = wire::checksum_fold(wire::checksum_partial(std::span(icmp, 8 + data_len)));
    icmp[2] = uint8_t(c >> 8);
    icmp[3] = uint8_t(c);
    return f;
}

Bytes from_hex(const char* h) {
    Bytes out;
    for (; h[0] != 0 && h[1] != 0; h += 2)
        out.push_back(uint8_t(std::stoul(std::string(h, 2), nullptr, 16)));
    return out;
}

void ipv6_seeds() {
    const wire::IpAddr a = *wire::IpAddr::parse("2001:2::1");
    const wire::IpAddr b = *wire::IpAddr::parse("2001:2::2");
    Bytes out(2048);
    wire::L3Header l3{kMacA, kMacB, a, b};
    wire::TcpHeaderSpec t;
    t.src_port = 40000;
    t.dst_port = 80;
    t.seq = wire::SeqNum(1000);
    t.flags = wire::tcp_flags::Syn;
    t.window = 65535;
    t.options = all_options();
    out.resize(wire::build_tcp(out, l3, t, {}, wire::CsumMode::Software));
    write("fuzz_wire", "ipv6_tcp_syn", out);
    out.assign(128, 0);
    out.resize(wire::build_neighbor_solicit(out, kMacA, a, b));
    write("fuzz_wire", "ipv6_ndp_ns", out);
    out.assign(128, 0);
    out.resize(wire::build_neighbor_advert(
        out, {.src_mac = kMacB, .dst_mac = kMacA, .src = b, .dst = a, .target = b}));
    write("fuzz_wire", "ipv6_ndp_na", out);
    // From scapy (test/wire/ipv6_test.cpp): an echo request, a DAD solicitation, and a SYN
    // behind Hop-by-Hop, Destination Options and an atomic fragment header.
    write("fuzz_wire", "ipv6_icmp6_echo",
          from_hex("02000000000202000000000186dd6000000000103a4020010002000000000000000000000001"
                   "2001000200000000000000000000000280009bdb123400076162636465666768"));
    write("fuzz_wire", "ipv6_ndp_dad",
          from_hex("3333ff00000202000000000186dd6000000000183aff0000000000000000000000000000000"
                   "0ff0200000000000000000001ff00000287005aa1000000002001000200000000000000000000"
                   "0002"));
    write("fuzz_wire", "ipv6_ext_headers",
          from_hex("02000000000202000000000186dd60000000002c0040200100020000000000000000000000"
                   "01200100020000000000000000000000023c000104000000002c000104000000000600000000"
                   "0000059c4000500000000500000000500203e8cf5c0000"));
}

void wire_seeds() {
    ipv6_seeds();
    Bytes arp(64);
    arp.resize(wire::build_arp(arp, wire::kArpOpRequest, wire::MacAddr::broadcast(), kMacB, kIpB,
                               {}, kIpA));
    write("fuzz_wire", "arp_request", arp);
    arp.resize(64);
    arp.resize(wire::build_arp(arp, wire::kArpOpReply, kMacA, kMacB, kIpB, kMacA, kIpA));
    write("fuzz_wire", "arp_reply", arp);
    write("fuzz_wire", "icmp_echo", echo_request(56, 0));
    write("fuzz_wire", "icmp_echo_ip_options", echo_request(16, 2));
    write("fuzz_wire", "icmp_echo_empty", echo_request(0, 0));
    using namespace wire::tcp_flags;
    write("fuzz_wire", "tcp_syn_all_options", tcp_frame(Syn, 1000, 0, all_options(), 0));
    wire::TcpOptions synack = all_options();
    synack.ts_ecr = 0x01020304;
    write("fuzz_wire", "tcp_synack", tcp_frame(Syn | Ack, 5000, 1001, synack, 0));
    write("fuzz_wire", "tcp_syn_plain", tcp_frame(Syn, 1000, 0, {}, 0));
    wire::TcpOptions ts;
    ts.has_timestamps = true;
    ts.ts_val = 7;
    ts.ts_ecr = 9;
    write("fuzz_wire", "tcp_data", tcp_frame(Psh | Ack, 1001, 5001, ts, 100));
    write("fuzz_wire", "tcp_data_large", tcp_frame(Ack, 1001, 5001, {}, 1460));
    write("fuzz_wire", "tcp_fin", tcp_frame(Fin | Ack, 1101, 5001, ts, 0));
    write("fuzz_wire", "tcp_rst", tcp_frame(Rst, 1101, 0, {}, 0));
    wire::TcpOptions sack = ts;
    sack.sack_count = 3;
    for (int i = 0; i < 3; ++i) {
        sack.sack[i].left = wire::SeqNum(2000 + 100 * i);
        sack.sack[i].right = wire::SeqNum(2050 + 100 * i);
    }
    write("fuzz_wire", "tcp_ack_sack", tcp_frame(Ack, 1001, 5001, sack, 0));
    write("fuzz_wire", "tcp_offload",
          tcp_frame(Ack | Urg | Ece | Cwr, 1, 2, all_options(), 10, wire::CsumMode::Offload));
}

// --- fuzz_tcp_options ----------------------------------------------------------------------

void options_seeds() {
    auto written = [](const wire::TcpOptions& o) {
        Bytes b(40);
        b.resize(wire::write_tcp_options(b, o));
        return b;
    };
    write("fuzz_tcp_options", "syn_all", written(all_options()));
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 536;
    write("fuzz_tcp_options", "mss", written(o));
    o = {};
    o.sack_permitted = true;
    o.has_wscale = true;
    o.wscale = 14;
    write("fuzz_tcp_options", "sackok_ws", written(o));
    o = {};
    o.sack_count = 4;
    for (int i = 0; i < 4; ++i) {
        o.sack[i].left = wire::SeqNum(0xfffff000u + 0x100u * uint32_t(i));
        o.sack[i].right = o.sack[i].left + 0x80;
    }
    write("fuzz_tcp_options", "sack4", written(o));
    o.has_timestamps = true;
    o.ts_val = 1;
    o.ts_ecr = 2;
    write("fuzz_tcp_options", "ts_sack3", written(o));  // the fourth block is dropped
    // Tight encodings (no NOP padding), as other stacks send them.
    write("fuzz_tcp_options", "tight_all",
          {2, 4, 5, 0xb4, 3, 3, 8, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0});
    write("fuzz_tcp_options", "tight_ts_sack2",
          {8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4});
    write("fuzz_tcp_options", "unknown_kind", {30, 6, 1, 2, 3, 4, 1, 1, 2, 4, 0x05, 0xdc});
    write("fuzz_tcp_options", "eol_then_garbage", {2, 4, 1, 0, 0, 0xff, 0xff, 0xff});
    write("fuzz_tcp_options", "repeated_mss", {2, 4, 1, 0, 2, 4, 2, 0});
    write("fuzz_tcp_options", "bad_len", {2, 5, 0, 0, 0});
    write("fuzz_tcp_options", "empty", {});
}

// --- fuzz_tcp_connection -------------------------------------------------------------------

// Flag table indices (tcp_program.hpp).
enum : uint8_t { A = 0, S = 1, SA = 2, FA = 3, PA = 4, R = 5, RA = 6 };

struct Opts {
    bool syn_options = false;  // MSS 1460, WS 7, SACK-perm
    bool ts = false;
};

class Program {
public:
    Program(uint8_t setup, uint8_t sizes, uint32_t iss = 100, uint32_t peer_iss = 300) {
        b_ = {setup, sizes};
        u32(iss);
        u32(peer_iss);
    }
    Program& op(Op o) {
        b_.push_back(o);
        return *this;
    }
    Program& u8(uint8_t v) {
        b_.push_back(v);
        return *this;
    }
    Program& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v)); }
    Program& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
    // A segment: seq/ack selectors default to RCV.NXT / SND.NXT exactly.
    // `far` is the u16 operand of SeqFar.
    Program& seg(uint8_t flags, Opts o = {}, uint8_t payload = 0, uint8_t seq_sel = 0,
                 uint8_t ack_sel = 0, uint8_t window = 0x20, uint16_t far = 0) {
        op(Inject).u8(flags).u8(seq_sel);
        if ((seq_sel >> 5) == SeqFar) u16(far);
        u8(ack_sel).u8(window);
        uint8_t osel = 0;
        if (o.syn_options) osel |= kOptMss | kOptWs | kOptSackOk;
        if (o.ts) osel |= kOptTs;
        u8(osel);
        if (o.syn_options) u16(1460).u8(7);
        if (o.ts) u8(1);  // the peer's clock ticks by one
        return u8(payload);
    }
    Program& advance(uint8_t table_index) { return op(Advance).u8(table_index); }
    Program& send(uint8_t len) { return op(Send).u8(len); }
    Program& receive(uint8_t max) { return op(Receive).u8(max); }
    void save(const std::string& name) const { write("fuzz_tcp_connection", name, b_); }

private:
    Bytes b_;
};

constexpr uint8_t kSeqPeerIss = SeqPeerIss << 5;
constexpr uint8_t kSeqFar = SeqFar << 5;
constexpr uint8_t kAckUna = AckSndUna << 5;
constexpr uint8_t k4k = 0xa0;   // 4 KiB send and receive buffers
constexpr uint8_t k256 = 0x00;  // 256-byte buffers
constexpr uint8_t kAdv60s = 13, kAdv61s = 14, kAdv2h = 18, kAdv75s = 15;

void connection_seeds() {
    const Opts none{}, syn{true, false}, syn_ts{true, true}, ts{false, true};
    // Active: handshake, data both ways, active close, TIME-WAIT expiry, reopen.
    Program(0, k4k)
        .seg(SA)
        .send(50)
        .seg(A)
        .seg(PA, none, 20)
        .receive(100)
        .op(Close)
        .seg(A)
        .seg(FA)
        .advance(kAdv60s)
        .save("active_full");
    // The same with every option negotiated and timestamps on every segment.
    Program(kTimestamps | kWindowScale | kSack, k4k | 7)
        .seg(SA, syn_ts)
        .send(120)
        .seg(A, ts)
        .seg(PA, ts, 60)
        .receive(30)
        .receive(100)
        .op(Close)
        .seg(A, ts)
        .seg(FA, ts)
        .seg(FA, ts)
        .advance(kAdv60s)
        .save("active_options");
    // Passive: SYN to the listener's clone, data, peer closes first, LAST-ACK.
    Program(kPassive, k4k)
        .seg(S, none, 0, kSeqPeerIss)
        .seg(A)
        .seg(PA, none, 40)
        .receive(200)
        .seg(FA)
        .op(Close)
        .seg(A)
        .save("passive_full");
    Program(kPassive | kTimestamps | kWindowScale | kSack, k4k | 3)
        .seg(S, syn_ts, 0, kSeqPeerIss)
        .seg(A, ts)
        .send(200)
        .seg(A, ts)
        .op(ShutdownSend)
        .seg(A, ts)
        .seg(FA, ts)
        .receive(10)
        .save("passive_options_half_close");
    // SYN retransmissions until the connection gives up, then a fresh open.
    Program p(0, k4k);
    for (int i = 0; i < 8; ++i) p.op(FireNext);
    p.seg(SA).save("syn_timeout");
    // SYN-RECEIVED timing out back to LISTEN.
    Program q(kPassive, k4k);
    q.seg(S, none, 0, kSeqPeerIss);
    for (int i = 0; i < 7; ++i) q.op(FireNext);
    q.save("synrcvd_timeout");
    // Simultaneous open and simultaneous close (CLOSING).
    Program(0, k4k)
        .seg(S, none, 0, kSeqPeerIss)
        .seg(SA, none, 0, kSeqPeerIss)
        .seg(A)
        .op(Close)
        .seg(FA, none, 0, 0, kAckUna)
        .seg(A)
        .advance(kAdv60s)
        .save("simultaneous");
    // Reset paths: in-window RST (challenge ACK), exact RST, RST in SYN-SENT.
    Program(0, k4k).seg(SA).seg(R, none, 0, 5).seg(R).seg(RA, none, 0, kSeqPeerIss).save("resets");
    // Zero window: persist probes, then the window opens.
    Program(kSmallMss, k4k)
        .seg(SA, none, 0, 0, 0, 0)
        .send(127)
        .op(FireNext)
        .op(FireNext)
        .op(FireNext)
        .seg(A)
        .seg(A)
        .save("zero_window");
    // Many small segments and a full send buffer.
    Program(kSmallMss, k256)
        .seg(SA)
        .send(200)
        .send(200)
        .seg(A)
        .op(PollOutput)
        .send(127)
        .op(FireNext)
        .seg(A)
        .op(Status)
        .save("small_mss");
    // Keepalive probes until the peer is declared dead.
    Program(kKeepalive, k4k)
        .seg(SA)
        .advance(kAdv2h)
        .advance(kAdv75s)
        .advance(kAdv2h)
        .save("keepalive");
    // FIN-WAIT-2 timeout.
    Program(0, k4k).seg(SA).op(Close).seg(A).advance(kAdv61s).save("fin_wait_2_timeout");
    // TIME-WAIT as an entry: retransmitted FIN, then a new SYN reopens (RFC 6191 / 1122).
    Program(kSwapTimeWait | kPassive, k4k)
        .seg(S, none, 0, kSeqPeerIss)
        .seg(A)
        .op(Close)
        .seg(A)
        .seg(FA)
        .seg(FA, none, 0, 0x1f)
        .seg(S, none, 0, kSeqFar, 0, 0x20, 0x100)
        .seg(A)
        .save("time_wait_entry");
    Program(kSwapTimeWait | kTimestamps | kRfc1337Off, k4k)
        .seg(SA, syn_ts)
        .op(Close)
        .seg(A, ts)
        .seg(FA, ts)
        .seg(R, ts)
        .save("time_wait_entry_rst");
    // TIME-WAIT kept in the TCB: the same segments.
    Program(kTimestamps, k4k)
        .seg(SA, syn_ts)
        .op(Close)
        .seg(A, ts)
        .seg(FA, ts)
        .seg(FA, ts)
        .seg(S, syn_ts, 0, kSeqFar, 0, 0x20, 0x100)
        .seg(A, ts)
        .save("time_wait_tcb");
    // Abort in each of a few states.
    Program(kPassive, k4k)
        .op(Abort)
        .seg(S, none, 0, kSeqPeerIss)
        .op(Abort)
        .op(Abort)
        .seg(SA)
        .save("aborts");
    // Out-of-order and overlapping data.
    Program(0, k4k)
        .seg(SA)
        .seg(PA, none, 20, 10)
        .seg(PA, none, 30)
        .seg(PA, none, 30, 0x1e)
        .receive(199)
        .save("out_of_order");
    // Stale timers and a clock jump.
    Program(0, k4k)
        .op(StaleTimer)
        .u8(0)
        .op(StaleTimer)
        .u8(5)
        .seg(SA)
        .op(StaleTimer)
        .u8(1)
        .op(Advance)
        .u8(0xc0)
        .u32(5'000'000)
        .save("stale_timers");
    Program(kPassive | kWindowScale, k4k | 14)
        .seg(S, syn, 0, kSeqPeerIss)
        .seg(A)
        .send(127)
        .seg(A)
        .seg(FA)
        .save("passive_wscale");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <fuzz/corpus>\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    wire_seeds();
    options_seeds();
    connection_seeds();
    return 0;
}

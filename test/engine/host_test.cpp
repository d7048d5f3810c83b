// The TCP host inside a real Worker, on an in-memory port (DPDK's net_ring): frames go in
// through the RX ring, what sluice sends comes out of the TX ring. No namespaces, no NIC.

#include "host_fixture.hpp"

namespace sluice::engine {
namespace {

TEST_F(HostOnRing, SynToListenerGetsSynAckAndAckEstablishes) {
    const uint32_t iss = handshake(40000, 7, 1000);
    EXPECT_NE(iss, 0u);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 1u);
}

TEST_F(HostOnRing, EchoServiceSendsTheBytesBack) {
    const uint32_t iss = handshake(40001, 7, 5000);
    inject(40001, 7, 5001, iss + 1, F::Ack | F::Psh, "hello sluice");
    auto out = poll();
    ASSERT_FALSE(out.empty());
    std::string echoed;
    for (const auto& s : out) echoed += s.payload;
    EXPECT_EQ(echoed, "hello sluice");
    EXPECT_EQ(out.back().tcp.ack.raw(), 5001u + 12);
}

// net_af_xdp sends pkt_len bytes from the first mbuf of a chain: the payload went out as
// whatever followed the headers in that buffer (zeros), with the checksum of the real bytes,
// and the peer dropped every data segment. A port without multi-segment TX gets one mbuf.
class SingleSegmentTx : public HostOnRing {
protected:
    void SetUp() override {
        single_seg_tx_ = true;
        HostOnRing::SetUp();
    }
};

TEST_F(HostOnRing, EchoedDataLeavesAsAChainOnAPortThatSendsChains) {
    const uint32_t iss = handshake(40002, 7, 5000);
    tx_segs_.clear();
    inject(40002, 7, 5001, iss + 1, F::Ack | F::Psh, "by reference");
    const auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "by reference");
    ASSERT_EQ(tx_segs_.size(), 1u);
    EXPECT_GT(tx_segs_[0], 1u) << "headers, then the payload by reference";
}

TEST_F(SingleSegmentTx, EchoedDataLeavesInOneMbufWithItsBytes) {
    const uint32_t iss = handshake(40003, 7, 5000);
    tx_segs_.clear();
    inject(40003, 7, 5001, iss + 1, F::Ack | F::Psh, "one mbuf, real bytes");
    const auto out = poll();  // parse_tcp verified the checksum over the frame as sent
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "one mbuf, real bytes");
    ASSERT_EQ(tx_segs_.size(), 1u);
    EXPECT_EQ(tx_segs_[0], 1u);
    EXPECT_EQ(counter(Counter::DropTxFull), 0u);
}

TEST_F(HostOnRing, SegmentToPortWithoutListenerGetsRst) {
    inject(40002, 81, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst | F::Ack);
    EXPECT_EQ(out[0].tcp.ack.raw(), 101u);
    EXPECT_EQ(counter(Counter::TcpOutRsts), 1u);
}

TEST_F(HostOnRing, AckToListenerWithoutConnectionGetsRstAndRstIsIgnored) {
    // RFC 9293 3.10.7.2: LISTEN answers an ACK with <SEQ=SEG.ACK><CTL=RST>, ignores a RST.
    inject(40003, 80, 100, 777, F::Ack);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst);
    EXPECT_EQ(out[0].tcp.seq.raw(), 777u);
    inject(40003, 80, 100, 0, F::Rst);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
}

constexpr std::string_view kCloseRequest = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

TEST_F(HostOnRing, HttpResponseCarriesTheAckOfTheRequestInOneSegment) {
    const uint32_t iss = handshake(40010, 80, 9000);
    inject(40010, 80, 9001, iss + 1, F::Ack | F::Psh, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto out = poll();
    ASSERT_EQ(out.size(), 1u) << "no separate pure ACK before the response";
    EXPECT_NE(out[0].payload.find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_EQ(out[0].tcp.ack.raw(), 9001u + 27);
    EXPECT_FALSE(out[0].tcp.flags & F::Fin) << "keep-alive";
}

TEST_F(HostOnRing, HttpCloseLeavesCompactTimeWaitThatReopensForNewerSyn) {
    http_close_to_time_wait_and_reopen();
}

// The same over IPv6: TIME-WAIT entries and their reuse keyed by the v6 4-tuple.
TEST_F(HostOnRing, Ipv6_HttpCloseLeavesCompactTimeWaitThatReopensForNewerSyn) {
    use_ipv6();
    http_close_to_time_wait_and_reopen();
}

void HostOnRing::http_close_to_time_wait_and_reopen() {
    const uint32_t iss = handshake(40004, 80, 9000);
    inject(40004, 80, 9001, iss + 1, F::Ack | F::Psh, kCloseRequest);
    auto out = poll();
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.back().tcp.flags & F::Fin) << "Connection: close: sluice closes first";
    EXPECT_NE(out[0].payload.find("HTTP/1.1 200 OK"), std::string::npos);
    const uint32_t req_len = static_cast<uint32_t>(kCloseRequest.size());
    uint32_t our_fin = 0;
    for (const auto& s : out) our_fin = s.tcp.seq.raw() + s.tcp.payload_len;
    // The peer ACKs our FIN and sends its own: sluice is in TIME-WAIT, as a compact entry.
    inject(40004, 80, 9001 + req_len, our_fin + 1, F::Ack | F::Fin);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Ack);
    EXPECT_EQ(worker_->tcp()->time_wait_entries(), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
    EXPECT_EQ(in_state(tcp::State::TimeWait), 1u);
    // The TCB went with its buffers: no mbuf is held for TIME-WAIT.
    EXPECT_EQ(worker_->tcp()->data_mbufs_in_use(), 0u);
    EXPECT_EQ(worker_->tcp()->rx_mbufs_pinned(), 0u);

    // A retransmitted FIN is re-ACKed from the compact entry.
    inject(40004, 80, 9001 + req_len, our_fin + 1, F::Ack | F::Fin);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack.raw(), 9001u + req_len + 1);

    // RFC 1122 4.2.2.13: a SYN above the old sequence space reopens the 4-tuple at once.
    inject(40004, 80, 9001 + req_len + 100000, 0, F::Syn);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
    EXPECT_TRUE(wire::SeqNum(out[0].tcp.seq.raw()) > wire::SeqNum(our_fin + 1))
        << "the new ISS lies above the old connection's";
    EXPECT_EQ(counter(Counter::TimeWaitReopens), 1u);
    EXPECT_EQ(worker_->tcp()->time_wait_entries(), 0u);
    EXPECT_EQ(in_state(tcp::State::SynReceived), 1u);
}

TEST_F(HostOnRing, OldSynInTimeWaitDoesNotReopen) {
    const uint32_t iss = handshake(40005, 80, 9000);
    inject(40005, 80, 9001, iss + 1, F::Ack | F::Psh, kCloseRequest);
    auto out = poll();
    uint32_t our_fin = 0;
    for (const auto& s : out) our_fin = s.tcp.seq.raw() + s.tcp.payload_len;
    inject(40005, 80, 9001 + static_cast<uint32_t>(kCloseRequest.size()), our_fin + 1,
           F::Ack | F::Fin);
    poll();
    ASSERT_EQ(worker_->tcp()->time_wait_entries(), 1u);
    inject(40005, 80, 8000, 0, F::Syn);  // below RCV.NXT, no timestamps: not acceptable
    out = poll();
    EXPECT_EQ(counter(Counter::TimeWaitReopens), 0u);
    EXPECT_EQ(worker_->tcp()->time_wait_entries(), 1u);
    for (const auto& s : out) EXPECT_FALSE(s.tcp.flags & F::Syn);
}

// One echo listener on port 7 with syncookies = off (a SYN-RECEIVED connection per SYN) and
// small buffers.
TcpHostConfig small_echo_host(uint32_t max_connections) {
    TcpHostConfig c;
    c.max_connections = max_connections;
    c.tcp.send_buffer = c.tcp.recv_buffer = 4096;
    const tcp::SynPolicyConfig off{.mode = tcp::SynCookieMode::Off};
    c.listeners = {ListenerConfig{.port = 7, .service = Service::Echo, .syn = off}};
    return c;
}

class SmallHost : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c = small_echo_host(2);
        c.syn_backlog = 1;
        start(c);
    }
};

TEST_F(SmallHost, SynBacklogFullDropsFurtherSynsAndCountsOverflow) {
    inject(41000, 7, 1, 0, F::Syn);
    inject(41001, 7, 1, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u) << "one SYN-ACK: the second SYN found the backlog full";
    EXPECT_EQ(counter(Counter::ListenOverflows), 1u);
    EXPECT_EQ(counter(Counter::ListenDrops), 1u);
    EXPECT_EQ(in_state(tcp::State::SynReceived), 1u);
}

TEST_F(SmallHost, ConnectionPoolExhaustionRefusesNewWorkAndRecovers) {
    handshake(41002, 7, 100);
    handshake(41003, 7, 100);
    inject(41004, 7, 100, 0, F::Syn);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(counter(Counter::TcpConnPoolExhausted), 1u);
    // The established ones still work.
    EXPECT_EQ(in_state(tcp::State::Established), 2u);
    // The peer resets one (RST at RCV.NXT); its slot is free again.
    inject(41002, 7, 101, 0, F::Rst);
    poll();
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 1u);
    inject(41004, 7, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
}

// PMDs that pass fragments through (unlike net_af_packet, whose fanout group defragments):
// sluice does no reassembly, so each fragment is counted and dropped, never answered.
TEST_F(HostOnRing, IpFragmentsAreCountedAndDroppedWithoutAnAnswer) {
    rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
    ASSERT_NE(m, nullptr);
    std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*), size_t(rte_pktmbuf_tailroom(m))};
    const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = kPeer, .dst = kUs};
    const wire::TcpHeaderSpec spec{.src_port = 40100, .dst_port = 7, .seq = wire::SeqNum(1),
                                   .flags = F::Syn, .window = 65535};
    const size_t len = wire::build_tcp(buf, l3, spec, {}, wire::CsumMode::Software);
    ASSERT_GT(len, 0u);
    // More-fragments (IPv4 flags at header offset 6), with a valid header checksum again.
    uint8_t* ip = buf.data() + 14;
    ip[6] |= 0x20;
    ip[10] = ip[11] = 0;
    const uint16_t hc = wire::ipv4_header_checksum({ip, 20});  // host order
    ip[10] = uint8_t(hc >> 8);
    ip[11] = uint8_t(hc);
    m->data_len = uint16_t(len);
    m->pkt_len = uint32_t(len);
    ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(counter(Counter::DropIpv4Fragment), 1u);
    EXPECT_EQ(counter(Counter::IpReasmFails), 1u);
    EXPECT_EQ(counter(Counter::DropIpv4BadChecksum), 0u) << "the fragment's checksum was valid";
}

// --- exhaustion (issue 10): each limit is counted, refuses new work, and recovers ------------

class TinyFlowTable : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c = small_echo_host(8);
        c.flow_table_entries = 2;
        start(c);
    }
};

TEST_F(TinyFlowTable, FullFlowTableRefusesNewConnectionsKeepsOldOnesAndRecovers) {
    const uint32_t iss = handshake(43000, 7, 100);
    handshake(43001, 7, 100);
    inject(43002, 7, 100, 0, F::Syn);
    EXPECT_TRUE(poll().empty()) << "no SYN-ACK without a flow entry";
    EXPECT_EQ(counter(Counter::FlowTableFull), 1u);
    EXPECT_EQ(counter(Counter::ListenDrops), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 2u) << "the refused SYN's slot went back";
    // The established connections still carry data.
    inject(43000, 7, 101, iss + 1, F::Ack | F::Psh, "still here");
    std::string echoed;
    for (const auto& o : poll()) echoed += o.payload;
    EXPECT_EQ(echoed, "still here");
    // One ends; its entry is free again and the next SYN gets its SYN-ACK.
    inject(43001, 7, 101, 0, F::Rst);
    poll();
    inject(43002, 7, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
}

class FewPorts : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 8;
        c.ephemeral_low = 50000;
        c.ephemeral_high = 50001;
        start(c);
    }
};

TEST_F(FewPorts, ActiveOpensFailCleanlyWhenThePortRangeIsUsedUpAndRecover) {
    TcpHost& h = *worker_->tcp();
    const time::Instant now = worker_->now();
    auto a = h.connect(kPeer, 9000, {}, now);
    auto b = h.connect(kPeer, 9000, {}, now);
    ASSERT_TRUE(a && b);
    auto c = h.connect(kPeer, 9000, {}, now);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("no free local port"), std::string::npos);
    EXPECT_EQ(counter(Counter::PortsExhausted), 1u);
    EXPECT_EQ(h.connections_in_use(), 2u) << "the failed open holds nothing";
    // Another destination port is another 4-tuple: the same local ports serve it.
    EXPECT_TRUE(h.connect(kPeer, 9001, {}, now));
    // Aborting one frees its port toward 9000.
    EXPECT_EQ(h.abort(*a, now), tcp::Error::None);
    EXPECT_TRUE(h.connect(kPeer, 9000, {}, now));
    poll();  // ARP requests for the peer
}

// An empty mbuf pool loses the frame, not the data: the bytes stay in the send buffer and
// the retransmission timer sends them once mbufs are back.
TEST_F(HostOnRing, EmptyMbufPoolDropsTheFrameAndRetransmissionDeliversTheDataLater) {
    const uint32_t iss = handshake(43100, 7, 100);
    std::vector<rte_mbuf*> hoard;
    while (rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0])) hoard.push_back(m);
    ASSERT_FALSE(hoard.empty());
    rte_pktmbuf_free(hoard.back());  // exactly one left: for the segment we inject
    hoard.pop_back();
    inject(43100, 7, 101, iss + 1, F::Ack | F::Psh, "keep me");
    EXPECT_TRUE(poll().empty());
    EXPECT_GE(counter(Counter::DropMbufExhausted), 1u);
    for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
    // The RTO (at least min_rto, 200 ms, after the handshake's RTT sample) resends it; poll
    // for it with a bounded deadline.
    std::string echoed;
    const uint64_t deadline = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
    while (echoed.empty() && rte_get_tsc_cycles() < deadline)
        for (const auto& o : poll()) echoed += o.payload;
    EXPECT_EQ(echoed, "keep me");
    EXPECT_GE(worker_->tcp()->stats().retrans_segs, 1u);
}

// --- mbuf buffers (issue 5): zero-copy send and receive, every mbuf back at the end ----------

class MbufHost : public HostOnRing {
protected:
    // An application connection to the peer, established by the peer's SYN-ACK.
    ConnId open(uint32_t peer_iss) {
        TcpHost& h = *worker_->tcp();
        // The peer's ARP request teaches us its MAC: the SYN leaves at once. (Without it the
        // SYN would wait in the neighbour table for an ARP answer, holding an mbuf.)
        uint8_t arp[64];
        inject_frame({arp, wire::build_arp(arp, 1, wire::MacAddr::broadcast(), kPeerMac, kPeer,
                                           wire::MacAddr{}, kUs)});
        poll();
        auto id = h.connect(kPeer, 9000, {}, worker_->now());
        EXPECT_TRUE(id);
        if (!id) return {};
        poll();  // the SYN
        const auto st = h.status(*id);
        port_local_ = st->tuple.local.port;
        iss_ = st->snd_una.raw();
        wire::TcpOptions o{};
        o.has_mss = true;
        o.mss = 1460;
        inject(9000, port_local_, peer_iss, iss_ + 1, F::Syn | F::Ack, {}, o);
        const auto out = poll();
        EXPECT_FALSE(out.empty());
        EXPECT_EQ(h.status(*id)->state, tcp::State::Established);
        return *id;
    }
    rte_mbuf* mbuf_with(std::string_view text) {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        if (m == nullptr) return nullptr;
        std::memcpy(rte_pktmbuf_mtod(m, char*), text.data(), text.size());
        m->data_len = uint16_t(text.size());
        m->pkt_len = m->data_len;
        return m;
    }
    uint16_t port_local_ = 0;
    uint32_t iss_ = 0;
};

TEST_F(MbufHost, SendMbufSendsTheChainByReferenceAndTheAckFreesIt) {
    TcpHost& h = *worker_->tcp();
    const unsigned baseline = rte_mempool_in_use_count(port_.pools[0]);
    const ConnId id = open(7000);
    // Two application mbufs chained: they go out as one segment, headers + two clones.
    rte_mbuf* a = mbuf_with("zero-");
    rte_mbuf* b = mbuf_with("copy send");
    ASSERT_TRUE(a && b);
    ASSERT_EQ(rte_pktmbuf_chain(a, b), 0);
    const auto r = h.send_mbuf(id, a, worker_->now());
    EXPECT_EQ(r.error, tcp::Error::None);
    EXPECT_EQ(r.bytes, 14u);
    const auto out = poll();  // parse_tcp verified the checksum over the chain
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "zero-copy send");
    EXPECT_EQ(h.clone_mbufs_in_use(), 0u) << "the TX clones went with the frame";
    EXPECT_EQ(h.status(id)->send_queued, 14u) << "kept until acknowledged";
    // The ACK frees the application's mbufs.
    inject(9000, port_local_, 7001, iss_ + 1 + 14, F::Ack);
    poll();
    EXPECT_EQ(h.status(id)->send_queued, 0u);
    EXPECT_EQ(h.abort(id, worker_->now()), tcp::Error::None);
    poll();
    EXPECT_EQ(rte_mempool_in_use_count(port_.pools[0]), baseline);
    EXPECT_EQ(h.data_mbufs_in_use(), 0u);
}

TEST_F(MbufHost, ReceivedFramesAreKeptByReferenceReassembledAndHandedOut) {
    TcpHost& h = *worker_->tcp();
    const unsigned baseline = rte_mempool_in_use_count(port_.pools[0]);
    const ConnId id = open(7000);
    const std::string seg1(1000, 'a'), seg2(1000, 'b'), seg3(1000, 'c');
    // 2 and 3 before 1: held out of order (as the RX mbufs themselves), then delivered.
    inject(9000, port_local_, 7001 + 1000, iss_ + 1, F::Ack, seg2);
    inject(9000, port_local_, 7001 + 2000, iss_ + 1, F::Ack, seg3);
    poll();
    EXPECT_EQ(h.status(id)->ooo_ranges, 1u);
    EXPECT_EQ(h.rx_mbufs_pinned(), 2u);
    inject(9000, port_local_, 7001, iss_ + 1, F::Ack | F::Psh, seg1);
    poll();
    EXPECT_EQ(h.status(id)->recv_queued, 3000u);
    // Zero-copy receive: the frames, narrowed to their payload.
    std::string got;
    tcp::IoResult r;
    while (rte_mbuf* m = h.receive_mbuf(id, r, worker_->now())) {
        EXPECT_EQ(r.bytes, m->data_len);
        got.append(rte_pktmbuf_mtod(m, const char*), m->data_len);
        rte_pktmbuf_free(m);
    }
    EXPECT_EQ(r.error, tcp::Error::None);
    EXPECT_EQ(got, seg1 + seg2 + seg3);
    EXPECT_EQ(h.rx_mbufs_pinned(), 0u);
    // Small segments are copied behind the tail instead (no mbuf pinned for 5 bytes).
    inject(9000, port_local_, 7001 + 3000, iss_ + 1, F::Ack | F::Psh, "tiny1");
    inject(9000, port_local_, 7001 + 3005, iss_ + 1, F::Ack | F::Psh, "tiny2");
    poll();
    EXPECT_EQ(h.rx_mbufs_pinned(), 0u);
    std::array<uint8_t, 64> buf{};
    const auto rr = h.receive(id, buf, worker_->now());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), rr.bytes), "tiny1tiny2");
    // Data held when the connection is reset goes back too.
    inject(9000, port_local_, 7001 + 4000, iss_ + 1, F::Ack, seg1);  // out of order
    inject(9000, port_local_, 7001 + 3010, iss_ + 1, F::Ack, seg2);  // in order, unread
    poll();
    EXPECT_GT(h.rx_mbufs_pinned(), 0u);
    inject(9000, port_local_, 7001 + 5000, 0, F::Rst);  // RCV.NXT: the hole got filled
    poll();
    EXPECT_FALSE(h.status(id));
    EXPECT_EQ(h.rx_mbufs_pinned(), 0u);
    EXPECT_EQ(h.data_mbufs_in_use(), 0u);
    EXPECT_EQ(h.clone_mbufs_in_use(), 0u);
    EXPECT_EQ(rte_mempool_in_use_count(port_.pools[0]), baseline);
}

TEST_F(MbufHost, BulkSendGoesOutInFullSegmentsAndAcksFreeIt) {
    TcpHost& h = *worker_->tcp();
    const ConnId id = open(7000);
    const std::string data(3000, 'z');
    EXPECT_EQ(h.send(id, {reinterpret_cast<const uint8_t*>(data.data()), data.size()},
                     worker_->now())
                  .bytes,
              3000u);
    std::string got;
    for (const auto& o : poll()) {
        EXPECT_EQ(o.payload.size(), 1460u);  // full segments across the 2 KiB mbufs
        got += o.payload;
    }
    EXPECT_EQ(got.size(), 2920u);  // Nagle holds the 80-byte tail while data is in flight
    EXPECT_EQ(h.status(id)->send_queued, 3000u);
    inject(9000, port_local_, 7001, iss_ + 1 + 2920, F::Ack);
    for (const auto& o : poll()) got += o.payload;
    EXPECT_EQ(got, data);
    inject(9000, port_local_, 7001, iss_ + 1 + 3000, F::Ack);
    poll();
    EXPECT_EQ(h.status(id)->send_queued, 0u);
    EXPECT_EQ(h.close(id, worker_->now()), tcp::Error::None);
    poll();
    EXPECT_EQ(h.data_mbufs_in_use(), 0u);
}

class FewClones : public MbufHost {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 8;
        c.clone_mbufs = 7;  // fewer than one initial window of segments needs
        start(c);
    }
};

// An empty clone pool loses frames, not data: the segments not sent are retransmitted (RTO,
// go-back-N) once the clones come back, and every mbuf returns at the end.
TEST_F(FewClones, EmptyClonePoolDropsFramesAndRetransmissionDeliversEverything) {
    TcpHost& h = *worker_->tcp();
    const ConnId id = open(7000);
    std::string data(20000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 23);
    size_t queued = 0;
    std::string got;
    uint32_t expected = iss_ + 1;
    const uint64_t deadline = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
    while (got.size() < data.size() && rte_get_tsc_cycles() < deadline) {
        if (queued < data.size()) {
            queued += h.send(id,
                             {reinterpret_cast<const uint8_t*>(data.data()) + queued,
                              data.size() - queued},
                             worker_->now())
                          .bytes;
        }
        bool any = false;
        for (const auto& o : poll()) {  // the peer takes what arrives in order and ACKs it
            if (o.payload.empty()) continue;
            any = true;
            if (o.tcp.seq.raw() == expected) {
                got += o.payload;
                expected += uint32_t(o.payload.size());
            }
        }
        if (any) inject(9000, port_local_, 7001, expected, F::Ack);
    }
    EXPECT_EQ(got, data);
    EXPECT_GE(counter(Counter::DropMbufExhausted), 1u);
    EXPECT_GE(h.stats().retrans_segs, 1u);
    EXPECT_EQ(h.abort(id, worker_->now()), tcp::Error::None);
    poll();
    EXPECT_EQ(h.data_mbufs_in_use(), 0u);
    EXPECT_EQ(h.clone_mbufs_in_use(), 0u);
}

// --- stateless half-open connections (issue 6) ------------------------------------------------

class CookieHost : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 64;
        c.max_time_wait = 64;
        c.listeners = {
            ListenerConfig{
                .port = 7, .service = Service::Echo, .syn = {.mode = tcp::SynCookieMode::Always}},
            ListenerConfig{.port = 8, .service = Service::Echo},  // auto
        };
        start(c);
    }
    // Gauges are published once a millisecond: tick past the next publication.
    uint64_t gauge(Counter c) {
        ahead_ += std::chrono::milliseconds(2);
        worker_->tcp()->on_tick(worker_->now() + ahead_);
        return counter(c);
    }
    time::Duration ahead_{0};
};

TEST_F(CookieHost, AlwaysMode_SynKeepsNoStateAndTheCookieAckEstablishesWithItsData) {
    wire::TcpOptions mss{};
    mss.has_mss = true;
    mss.mss = 1400;
    inject(42000, 7, 7000, 0, F::Syn, {}, mss);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
    EXPECT_EQ(out[0].tcp.ack.raw(), 7001u);
    EXPECT_EQ(counter(Counter::SyncookiesSent), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u) << "a SYN allocates nothing";
    EXPECT_EQ(gauge(Counter::SynCacheEntries), 0u);

    // The final ACK carries data: the connection is created ESTABLISHED and the data kept.
    const uint32_t iss = out[0].tcp.seq.raw();
    inject(42000, 7, 7001, iss + 1, F::Ack | F::Psh, "kept");
    out = poll();
    EXPECT_EQ(counter(Counter::SyncookiesRecv), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 1u);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
    std::string echoed;
    for (const auto& s : out) echoed += s.payload;
    EXPECT_EQ(echoed, "kept");
}

// RFC 9293 3.10.7.2: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST> (corner_test.cpp has the
// limit).
TEST_F(CookieHost, ForgedCookieIsCountedAndResetWithoutState) {
    inject(42001, 7, 7000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    inject(42001, 7, 7001, out[0].tcp.seq.raw() + 12345, F::Ack);  // wrong cookie
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst);
    EXPECT_EQ(counter(Counter::SyncookiesFailed), 1u);
    EXPECT_EQ(counter(Counter::ListenDrops), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
}

TEST_F(CookieHost, FloodOfSpoofedSynsCostsNoMemoryAndALegitimateClientStillConnects) {
    // 20,000 SYNs from spoofed sources inside 198.18.0.0/15, in bursts, never completed.
    for (uint32_t i = 0; i < 20000; ++i) {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        ASSERT_NE(m, nullptr);
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const wire::L3Header l3{.src_mac = kPeerMac,
                                .dst_mac = us_mac_,
                                .src = wire::IpAddr::v4(0xC6130000 + i % 60000),
                                .dst = kUs};
        const wire::TcpHeaderSpec spec{.src_port = static_cast<uint16_t>(1024 + i % 50000),
                                       .dst_port = 7,
                                       .seq = wire::SeqNum(i),
                                       .flags = F::Syn,
                                       .window = 1024};
        const size_t len = wire::build_tcp(buf, l3, spec, {}, wire::CsumMode::Software);
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
        if (i % 512 == 511) poll();
    }
    poll();
    EXPECT_EQ(counter(Counter::SyncookiesSent), 20000u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
    EXPECT_EQ(gauge(Counter::HalfOpen), 0u);
    handshake(42002, 7, 100);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
}

TEST_F(CookieHost, AutoMode_OrdinarySynGoesToTheCacheWhichCompletesTheHandshake) {
    inject(42003, 8, 500, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(counter(Counter::SyncookiesSent), 0u);
    EXPECT_EQ(gauge(Counter::SynCacheEntries), 1u);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
    inject(42003, 8, 501, out[0].tcp.seq.raw() + 1, F::Ack);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(gauge(Counter::SynCacheEntries), 0u);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
}

TEST_F(CookieHost, AutoMode_RstForACachedHalfOpenRemovesIt) {
    inject(42004, 8, 900, 0, F::Syn);
    ASSERT_EQ(poll().size(), 1u);
    ASSERT_EQ(gauge(Counter::SynCacheEntries), 1u);
    inject(42004, 8, 901, 0, F::Rst);  // RFC 5961: exactly RCV.NXT
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(gauge(Counter::SynCacheEntries), 0u);
}


// A peer's ARP request for `target`: teaches the worker the peer's MAC as a side effect.
void inject_arp_request(rte_mempool* pool, rte_ring* rx, const wire::IpAddr& target) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    ASSERT_NE(m, nullptr);
    std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                           static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    const size_t len = wire::build_arp(buf, 1, wire::MacAddr::broadcast(), kPeerMac, kPeer,
                                       wire::MacAddr{}, target);
    ASSERT_GT(len, 0u);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len);
    ASSERT_EQ(rte_ring_enqueue(rx, m), 0);
}

// ip.source_addresses: three more addresses of ours, two local ports.
class SourceAddresses : public HostOnRing {
protected:
    void SetUp() override {
        net_.extra_first = 0xC612000A;  // 198.18.0.10 .. .12
        net_.extra_count = 3;
        TcpHostConfig c;
        c.max_connections = 16;
        c.ephemeral_low = 50000;
        c.ephemeral_high = 50001;
        start(c);
    }
};

TEST_F(SourceAddresses, ArpIsAnsweredForEachAndActiveOpensTakeThemInTurn) {
    inject_arp_request(port_.pools[0], rx_, wire::IpAddr::v4(0xC612000B));
    inject_arp_request(port_.pools[0], rx_, wire::IpAddr::v4(0xC612000D));  // .13: not ours
    poll();
    EXPECT_EQ(counter(Counter::ArpOutReplies), 1u);
    EXPECT_EQ(counter(Counter::ArpInOther), 1u);

    TcpHost& h = *worker_->tcp();
    const time::Instant now = worker_->now();
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.connect(kPeer, 9000, {}, now)) << i;
    EXPECT_FALSE(h.connect(kPeer, 9000, {}, now)) << "3 addresses x 2 ports = 6 tuples";
    std::map<uint32_t, int> per_source;
    for (const Sent& s : poll()) {
        EXPECT_EQ(s.tcp.flags, F::Syn);
        ++per_source[s.frame.src.v4_host()];
    }
    EXPECT_EQ(per_source, (std::map<uint32_t, int>{{0xC612000A, 2}, {0xC612000B, 2}, {0xC612000C, 2}}));
    EXPECT_EQ(counter(Counter::PortsExhausted), 1u);
}

// One address, one port: a second connection to the same server port needs the TIME-WAIT
// 4-tuple of the first.
class OnePort : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 4;
        c.ephemeral_low = c.ephemeral_high = 50000;
        start(c);
    }

    // Opens, completes the handshake (the peer's timestamps if `ts`), closes first and takes
    // the peer's FIN: our 4-tuple is in TIME-WAIT. Returns our snd_nxt there.
    uint32_t connect_and_close_first(bool ts) {
        TcpHost& h = *worker_->tcp();
        auto id = h.connect(kPeer, 9000, {}, worker_->now());
        EXPECT_TRUE(id);
        auto out = poll();
        EXPECT_EQ(out.size(), 1u);
        if (out.empty() || !id) return 0;
        const uint32_t iss = out[0].tcp.seq.raw();
        wire::TcpOptions o;
        o.has_timestamps = ts;
        o.ts_val = 5000;
        o.ts_ecr = out[0].tcp.options.ts_val;
        inject(9000, 50000, 700000, iss + 1, F::Syn | F::Ack, {}, o);
        poll();
        EXPECT_EQ(h.close(*id, worker_->now()), tcp::Error::None);
        out = poll();
        EXPECT_EQ(out.size(), 1u);
        EXPECT_TRUE(!out.empty() && (out[0].tcp.flags & F::Fin));
        o.ts_val = 5001;
        inject(9000, 50000, 700001, iss + 2, F::Ack | F::Fin, {}, o);
        poll();
        EXPECT_EQ(h.time_wait_entries(), 1u);
        return iss + 2;
    }
};

TEST_F(OnePort, Rfc6191_TimeWaitWithTimestampsIsReusedAfterASecondWithAHigherIss) {
    inject_arp_request(port_.pools[0], rx_, kUs);
    poll();
    const uint32_t old_snd_nxt = connect_and_close_first(true);
    TcpHost& h = *worker_->tcp();
    const time::Instant now = worker_->now();
    // Too soon: our next TSval might not be above the last one sent there.
    EXPECT_FALSE(h.connect(kPeer, 9000, {}, now));
    EXPECT_EQ(counter(Counter::TWRecycled), 0u);
    ASSERT_TRUE(h.connect(kPeer, 9000, {}, now + std::chrono::milliseconds(1100)));
    EXPECT_EQ(counter(Counter::TWRecycled), 1u);
    EXPECT_EQ(h.time_wait_entries(), 0u);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn);
    EXPECT_EQ(out[0].tcp.src_port, 50000);
    EXPECT_TRUE(out[0].tcp.seq > wire::SeqNum(old_snd_nxt))
        << "RFC 1122 4.2.2.13: the new ISS lies above the old connection's sequence space";
}

TEST_F(OnePort, TimeWaitWithoutTimestampsIsNotReused) {
    inject_arp_request(port_.pools[0], rx_, kUs);
    poll();
    connect_and_close_first(false);
    TcpHost& h = *worker_->tcp();
    EXPECT_FALSE(h.connect(kPeer, 9000, {}, worker_->now() + std::chrono::seconds(5)));
    EXPECT_EQ(counter(Counter::TWRecycled), 0u);
    EXPECT_EQ(h.time_wait_entries(), 1u);
}


// --- IPv6 (issue 11) ----------------------------------------------------------------------------

// An ICMPv6 echo request from the peer (RFC 4443 4.1), checksum over the pseudo-header.
std::vector<uint8_t> echo6_request(const wire::MacAddr& dst_mac, const wire::IpAddr& src,
                                   const wire::IpAddr& dst, std::string_view data) {
    std::vector<uint8_t> f(14 + 40 + 8 + data.size());
    uint8_t* ip = wire::detail::write_eth(f.data(), dst_mac, kPeerMac, 0x86dd);
    wire::detail::write_ipv6(ip, src, dst, 58, 64, 8 + data.size());
    uint8_t* m = ip + 40;
    m[0] = 128;  // echo request
    wire::store_be16(m + 4, 0x1234);
    wire::store_be16(m + 6, 7);
    std::memcpy(m + 8, data.data(), data.size());
    const uint32_t ph = wire::pseudo_header_sum(src, dst, 58, uint32_t(8 + data.size()));
    wire::store_be16(m + 2, wire::checksum_fold(wire::checksum_partial({m, 8 + data.size()}, ph)));
    return f;
}

std::vector<uint8_t> neighbor_solicit(const wire::IpAddr& src, const wire::IpAddr& target) {
    std::vector<uint8_t> f(128);
    f.resize(wire::build_neighbor_solicit(f, kPeerMac, src, target));
    return f;
}

struct Parsed6 {
    wire::Frame frame;
    wire::Icmp6Message msg;
};

// The ICMPv6 messages among `frames`.
std::vector<Parsed6> icmp6_of(const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<Parsed6> out;
    for (const auto& b : frames) {
        Parsed6 p;
        if (wire::parse_frame(b, {}, p.frame) != wire::Drop::None || p.frame.ip_proto != 58)
            continue;
        if (p.frame.ttl != 255) {  // echo replies: parse_icmp6 takes requests and NDP only
            p.msg.type = b[p.frame.l4_off];
            out.push_back(p);
            continue;
        }
        EXPECT_EQ(wire::parse_icmp6(b, p.frame, {}, p.msg), wire::Drop::None);
        out.push_back(p);
    }
    return out;
}

TEST_F(HostOnRing, Ipv6_NeighborSolicitationForOurAddressGetsASolicitedAdvertisement) {
    inject_frame(neighbor_solicit(kPeer6, kUs6));
    const auto out = icmp6_of(poll_frames());
    ASSERT_EQ(out.size(), 1u);
    const Parsed6& na = out[0];
    EXPECT_EQ(na.msg.type, wire::kIcmp6NeighborAdvert);
    EXPECT_EQ(na.msg.target, kUs6);
    EXPECT_TRUE(na.msg.solicited);
    EXPECT_TRUE(na.msg.override_flag);
    EXPECT_FALSE(na.msg.router);
    ASSERT_TRUE(na.msg.has_lladdr);
    EXPECT_EQ(na.msg.lladdr, us_mac_);
    EXPECT_EQ(na.frame.dst, kPeer6);
    EXPECT_EQ(na.frame.dst_mac, kPeerMac);
    EXPECT_EQ(na.frame.src, kUs6);
    EXPECT_EQ(counter(Counter::Icmp6InNeighborSolicits), 1u);
    EXPECT_EQ(counter(Counter::Icmp6OutNeighborAdvertisements), 1u);
    // The solicitor's address went into the cache (RFC 4861 7.2.3): no NS needed to reach it.
    wire::MacAddr mac;
    EXPECT_TRUE(worker_->neighbor_mac(kPeer6, worker_->now(), mac));
    EXPECT_EQ(mac, kPeerMac);
    EXPECT_EQ(counter(Counter::Icmp6OutNeighborSolicits), 0u);
}

TEST_F(HostOnRing, Ipv6_LinkLocalAddressFromTheMacIsAnsweredToo) {
    const wire::IpAddr ll = worker_->link_local();
    EXPECT_TRUE(wire::is_v6_link_local(ll));
    EXPECT_EQ(ll.bytes[8], us_mac_.b[0] ^ 0x02);
    EXPECT_EQ(ll.bytes[15], us_mac_.b[5]);
    inject_frame(neighbor_solicit(*wire::IpAddr::parse("fe80::1"), ll));
    auto out = icmp6_of(poll_frames());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].msg.type, wire::kIcmp6NeighborAdvert);
    EXPECT_EQ(out[0].msg.target, ll);
    inject_frame(echo6_request(us_mac_, *wire::IpAddr::parse("fe80::1"), ll, "ll"));
    out = icmp6_of(poll_frames());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].msg.type, wire::kIcmp6EchoReply);
    EXPECT_EQ(out[0].frame.src, ll);
}

TEST_F(HostOnRing, Ipv6_SolicitationsForOtherTargetsAndForeignGroupsAreCountedAndIgnored) {
    inject_frame(neighbor_solicit(kPeer6, *wire::IpAddr::parse("2001:2::99")));
    EXPECT_TRUE(poll_frames().empty());
    EXPECT_EQ(counter(Counter::DropIpv6NotForUs), 1u) << "not a group we are in";
    // Addressed to our solicited-node group (same low 24 bits) but for another target.
    const wire::IpAddr twin = *wire::IpAddr::parse("2001:2::1:0:2");
    ASSERT_EQ(wire::solicited_node(twin), wire::solicited_node(kUs6));
    inject_frame(neighbor_solicit(kPeer6, twin));
    EXPECT_TRUE(poll_frames().empty());
    EXPECT_EQ(counter(Counter::NdpInOther), 1u);
    EXPECT_EQ(counter(Counter::Icmp6OutNeighborAdvertisements), 0u);
}

TEST_F(HostOnRing, Ipv6_EchoRequestGetsTheSameDataBack) {
    inject_frame(echo6_request(us_mac_, kPeer6, kUs6, "ping over ipv6"));
    const auto frames = poll_frames();
    ASSERT_EQ(frames.size(), 1u);
    wire::Frame f;
    ASSERT_EQ(wire::parse_frame(frames[0], {}, f), wire::Drop::None);
    EXPECT_EQ(f.src, kUs6);
    EXPECT_EQ(f.dst, kPeer6);
    EXPECT_EQ(f.dst_mac, kPeerMac);
    ASSERT_EQ(f.l4_len, 8u + 14);
    const uint8_t* m = frames[0].data() + f.l4_off;
    EXPECT_EQ(m[0], wire::kIcmp6EchoReply);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m + 8), 14), "ping over ipv6");
    const uint32_t ph = wire::pseudo_header_sum(f.src, f.dst, 58, f.l4_len);
    EXPECT_EQ(wire::checksum_fold(wire::checksum_partial({m, f.l4_len}, ph)), 0) << "checksum";
    EXPECT_EQ(counter(Counter::Icmp6InEchos), 1u);
    EXPECT_EQ(counter(Counter::Icmp6OutEchoReplies), 1u);
    EXPECT_EQ(counter(Counter::Ip6OutRequests), 1u);
}

TEST_F(HostOnRing, Ipv6_UnicastToAnotherAddressOrAnotherMacIsDroppedAndCounted) {
    inject_frame(echo6_request(us_mac_, kPeer6, *wire::IpAddr::parse("2001:2::3"), "x"));
    inject_frame(echo6_request(kPeerMac, kPeer6, kUs6, "x"));
    EXPECT_TRUE(poll_frames().empty());
    EXPECT_EQ(counter(Counter::DropIpv6NotForUs), 1u);
    EXPECT_EQ(counter(Counter::EthInNotForUs), 1u);
    EXPECT_EQ(counter(Counter::Ip6InReceives), 2u);
}

TEST_F(HostOnRing, Ipv6_HandshakeEchoAndCloseOnADualStackListener) {
    use_ipv6();
    const uint32_t iss = handshake(41000, 7, 100);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
    inject(41000, 7, 101, iss + 1, F::Ack | F::Psh, "hello over v6");
    auto out = poll();
    ASSERT_FALSE(out.empty());
    std::string echoed;
    for (const auto& s : out) {
        EXPECT_EQ(s.frame.src, kUs6);
        EXPECT_EQ(s.frame.dst, kPeer6);
        echoed += s.payload;
    }
    EXPECT_EQ(echoed, "hello over v6");
    inject(41000, 7, 101 + 13, iss + 1 + 13, F::Fin | F::Ack);
    out = poll();
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.back().tcp.flags & F::Fin) << "echo closes after the peer's FIN";
    inject(41000, 7, 101 + 14, iss + 1 + 13 + 1, F::Ack);
    poll();
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
    EXPECT_EQ(counter(Counter::Ip6InDelivers), 5u);  // SYN, ACK, data, FIN, ACK
    EXPECT_GE(counter(Counter::Ip6OutRequests), 3u);
    EXPECT_EQ(counter(Counter::IpInReceives), 0u) << "nothing counted as IPv4";
}

TEST_F(HostOnRing, Ipv6_SynAckAnnouncesAnMssThatFitsTheLargerHeader) {
    use_ipv6();
    inject(41001, 7, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].tcp.options.has_mss);
    // RFC 8200 / RFC 9293 3.7.1: MTU 1500 - 40 (IPv6) - 20 (TCP).
    EXPECT_EQ(out[0].tcp.options.mss, 1440);
}

// RFC 9293 3.7.1: a peer that announces no MSS takes 1220 bytes over IPv6 (536 over IPv4).
TEST_F(HostOnRing, Ipv6_PeerWithoutAnMssOptionGetsSegmentsOf1220) {
    use_ipv6();
    const uint32_t iss = handshake(41003, 7, 100);  // inject() sends no MSS option
    const std::string a(1400, 'a'), b(1400, 'b');
    inject(41003, 7, 101, iss + 1, F::Ack, a);
    inject(41003, 7, 101 + 1400, iss + 1, F::Ack | F::Psh, b);
    std::string echoed;
    std::vector<size_t> sizes;
    const auto take = [&] {
        for (const auto& s : poll()) {
            echoed += s.payload;
            if (!s.payload.empty()) sizes.push_back(s.payload.size());
        }
    };
    take();
    EXPECT_EQ(sizes, (std::vector<size_t>{1220, 1220})) << "Nagle holds the 360-byte tail";
    inject(41003, 7, 101 + 2800, iss + 1 + 2440, F::Ack);
    take();
    EXPECT_EQ(sizes, (std::vector<size_t>{1220, 1220, 360}));
    EXPECT_TRUE(echoed == a + b);
}

TEST_F(HostOnRing, Ipv6_ClosedPortGetsARstFromTheDestinationAddress) {
    use_ipv6();
    inject(41002, 81, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst | F::Ack);
    EXPECT_EQ(out[0].frame.src, kUs6);
    EXPECT_EQ(out[0].frame.dst, kPeer6);
}

TEST_F(HostOnRing, Ipv6_ActiveOpenSolicitsTheNeighbourThenConnects) {
    TcpHost& h = *worker_->tcp();
    auto id = h.connect(kPeer6, 9000, {}, worker_->now());
    ASSERT_TRUE(id) << id.error().message;
    auto frames = poll_frames();
    auto ns = icmp6_of(frames);
    ASSERT_EQ(ns.size(), 1u) << "the SYN waits for the neighbour";
    EXPECT_EQ(ns[0].msg.type, wire::kIcmp6NeighborSolicit);
    EXPECT_EQ(ns[0].msg.target, kPeer6);
    EXPECT_EQ(ns[0].frame.dst, wire::solicited_node(kPeer6));
    EXPECT_EQ(ns[0].frame.dst_mac, wire::multicast_mac(wire::solicited_node(kPeer6)));
    EXPECT_EQ(ns[0].frame.src, kUs6);
    EXPECT_EQ(counter(Counter::Icmp6OutNeighborSolicits), 1u);
    EXPECT_EQ(counter(Counter::NeighUnresolved), 0u) << "held, not dropped";
    // The solicited advertisement resolves it: the held SYN leaves with it (issue 21 h), and
    // the next open goes straight out.
    std::vector<uint8_t> na(128);
    na.resize(wire::build_neighbor_advert(na, {.src_mac = kPeerMac,
                                               .dst_mac = us_mac_,
                                               .src = kPeer6,
                                               .dst = kUs6,
                                               .target = kPeer6}));
    inject_frame(na);
    const auto held = poll();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held[0].tcp.flags, F::Syn);
    EXPECT_EQ(held[0].tcp.dst_port, 9000);
    EXPECT_EQ(held[0].frame.dst_mac, kPeerMac);
    EXPECT_EQ(counter(Counter::Icmp6InNeighborAdvertisements), 1u);
    auto id2 = h.connect(kPeer6, 9001, {}, worker_->now());
    ASSERT_TRUE(id2);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn);
    EXPECT_EQ(out[0].frame.src, kUs6);
    EXPECT_EQ(out[0].frame.dst, kPeer6);
    EXPECT_EQ(out[0].frame.dst_mac, kPeerMac);
    ASSERT_TRUE(out[0].tcp.options.has_mss);
    EXPECT_EQ(out[0].tcp.options.mss, 1440) << "1500 - 40 (IPv6) - 20 (TCP)";
}

TEST_F(HostOnRing, Ipv6_UnsolicitedAdvertisementForAStrangerIsNotCached) {
    std::vector<uint8_t> na(128);
    const wire::IpAddr stranger = *wire::IpAddr::parse("2001:2::77");
    na.resize(wire::build_neighbor_advert(na, {.src_mac = kPeerMac,
                                               .dst_mac = us_mac_,
                                               .src = stranger,
                                               .dst = kUs6,
                                               .target = stranger,
                                               .solicited = false}));
    inject_frame(na);
    poll_frames();
    wire::MacAddr mac;
    EXPECT_FALSE(worker_->neighbor_mac(stranger, worker_->now(), mac)) << "RFC 4861 7.2.5";
}

// Hostile IPv6 input: each is counted under its reason and answered with nothing.
TEST_F(HostOnRing, Ipv6_BadInputIsCountedAndDroppedWithoutAnAnswer) {
    use_ipv6();
    // A TCP checksum off by one.
    std::vector<uint8_t> f(256);
    {
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = kPeer6, .dst = kUs6};
        f.resize(wire::build_tcp(f, l3, {.src_port = 1, .dst_port = 7, .flags = F::Syn},
                                 {}, wire::CsumMode::Software));
        f[14 + 40 + 16] ^= 1;
        inject_frame(f);
    }
    // A LAND SYN: our own address as the source.
    {
        std::vector<uint8_t> g(256);
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = kUs6, .dst = kUs6};
        g.resize(wire::build_tcp(g, l3, {.src_port = 7, .dst_port = 7, .flags = F::Syn}, {},
                                 wire::CsumMode::Software));
        inject_frame(g);
    }
    // A solicitation that crossed a router (hop limit below 255: RFC 4861 7.1.1).
    {
        auto ns = neighbor_solicit(kPeer6, kUs6);
        ns[14 + 7] = 64;
        inject_frame(ns);
    }
    // A fragment header in front of TCP (not atomic: more fragments follow).
    {
        std::vector<uint8_t> g(256);
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = kPeer6, .dst = kUs6};
        g.resize(wire::build_tcp(g, l3, {.src_port = 2, .dst_port = 7, .flags = F::Syn}, {},
                                 wire::CsumMode::Software));
        const size_t tcp_len = g.size() - 54;
        g.insert(g.begin() + 54, {6, 0, 0, 1, 0, 0, 0, 42});  // offset 0, M = 1
        g[14 + 6] = 44;
        g[14 + 5] = uint8_t(tcp_len + 8);
        inject_frame(g);
    }
    // Truncated: the payload length says more than the frame holds.
    {
        auto e = echo6_request(us_mac_, kPeer6, kUs6, "abcd");
        e[14 + 5] = 200;
        inject_frame(e);
    }
    EXPECT_TRUE(poll_frames().empty());
    EXPECT_EQ(counter(Counter::DropTcpBadChecksum), 1u);
    EXPECT_EQ(counter(Counter::DropIpv6BadSource), 1u);
    EXPECT_EQ(counter(Counter::DropNdpMalformed), 1u);
    EXPECT_EQ(counter(Counter::DropIpv6Fragment), 1u);
    EXPECT_EQ(counter(Counter::DropIpv6BadPayloadLength), 1u);
    EXPECT_EQ(counter(Counter::Ip6InReceives), 5u);
    EXPECT_EQ(counter(Counter::Ip6InHdrErrors), 2u) << "fragment, payload length";
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
    EXPECT_EQ(worker_->tcp()->syn_cache_entries(), 0u);
}

// Listeners bound per family: port 7 on IPv4 only, port 8 on IPv6 only.
class BoundListeners : public HostOnRing {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 8;
        c.listeners.push_back(
            ListenerConfig{.port = 7, .service = Service::Echo, .bind = {kUs}});
        c.listeners.push_back(ListenerConfig{
            .port = 8, .service = Service::Echo, .bind = {*wire::IpAddr::parse("::")}});
        start(c);
    }
};

TEST_F(BoundListeners, EachFamilyReachesOnlyItsListener) {
    inject(42000, 7, 100, 0, F::Syn);
    inject(42001, 8, 100, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack) << "v4 to the v4 listener";
    EXPECT_EQ(out[1].tcp.flags, F::Rst | F::Ack) << "v4 to the v6 listener";
    use_ipv6();
    inject(42002, 7, 100, 0, F::Syn);
    inject(42003, 8, 100, 0, F::Syn);
    out = poll();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst | F::Ack) << "v6 to the v4 listener";
    EXPECT_EQ(out[1].tcp.flags, F::Syn | F::Ack) << "v6 to the v6 listener";
}

// A host without ip.address6: IPv6 is counted and dropped, and v6 opens are refused.
class V4Only : public HostOnRing {
protected:
    void SetUp() override {
        no_v6_ = true;
        TcpHostConfig c;
        c.max_connections = 8;
        c.listeners.push_back(ListenerConfig{.port = 7, .service = Service::Echo});
        start(c);
    }
};

TEST_F(V4Only, Ipv6IsCountedAndDroppedAndV6OpensAreRefused) {
    inject_frame(neighbor_solicit(kPeer6, kUs6));
    use_ipv6();
    inject(42010, 7, 100, 0, F::Syn);
    EXPECT_TRUE(poll_frames().empty());
    EXPECT_EQ(counter(Counter::DropIpv6Unsupported), 2u);
    auto id = worker_->tcp()->connect(kPeer6, 9000, {}, worker_->now());
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code, EAFNOSUPPORT);
    EXPECT_EQ(worker_->tcp()->connections_in_use(), 0u);
}

}  // namespace
}  // namespace sluice::engine

#pragma once
// The counters every worker keeps. Names follow Linux's nstat (`IpInReceives`, `TcpOutRsts`,
// ...) so an operator can read sluice and the kernel side by side; sluice's own additions have
// no kernel twin. Every drop on the data path bumps exactly one `Drop*` counter and, where
// the kernel has one, the matching nstat total.
//
// Threads: a worker writes only its own Counters; any thread may read any worker's (each value
// is a relaxed 64-bit atomic, so a reader sees a value that was true at some recent instant).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// X(name, help)
#define SLUICE_COUNTERS(X)                                                                     \
    X(IpInReceives, "IPv4 datagrams received")                                                 \
    X(IpInHdrErrors, "IPv4 datagrams dropped for a header error (checksum, length, TTL)")      \
    X(IpInAddrErrors, "IPv4 datagrams dropped: destination or source not acceptable")          \
    X(IpInUnknownProtos, "IPv4 datagrams for a protocol sluice does not serve")                \
    X(IpReasmFails, "IPv4 fragments dropped (sluice does not reassemble)")                     \
    X(IpInDelivers, "IPv4 datagrams delivered to ICMP or TCP")                                 \
    X(IpOutRequests, "IPv4 datagrams sent")                                                    \
    X(IcmpInMsgs, "ICMP messages received")                                                    \
    X(IcmpInErrors, "ICMP messages dropped (malformed or unsupported)")                        \
    X(IcmpInCsumErrors, "ICMP messages with a bad checksum")                                   \
    X(IcmpInEchos, "ICMP echo requests received")                                              \
    X(IcmpOutEchoReps, "ICMP echo replies sent")                                               \
    X(Ip6InReceives, "IPv6 packets received")                                                  \
    X(Ip6InHdrErrors, "IPv6 packets dropped for a header error")                               \
    X(Ip6InAddrErrors, "IPv6 packets dropped: destination or source not acceptable")           \
    X(Ip6InDelivers, "IPv6 packets delivered to ICMPv6 or TCP")                                \
    X(Ip6OutRequests, "IPv6 packets sent")                                                     \
    X(Icmp6InMsgs, "ICMPv6 messages received")                                                 \
    X(Icmp6InErrors, "ICMPv6 messages dropped (malformed or unsupported)")                     \
    X(Icmp6InEchos, "ICMPv6 echo requests received")                                           \
    X(Icmp6OutEchoReplies, "ICMPv6 echo replies sent")                                         \
    X(Icmp6InNeighborSolicits, "Neighbor Solicitations for an address of ours")                \
    X(Icmp6InNeighborAdvertisements, "Neighbor Advertisements received")                       \
    X(Icmp6OutNeighborSolicits, "Neighbor Solicitations sent")                                 \
    X(Icmp6OutNeighborAdvertisements, "Neighbor Advertisements sent")                          \
    X(NdpInOther, "Neighbor Discovery messages for another target, or with nothing to learn")  \
    X(TcpInSegs, "TCP segments received")                                                      \
    X(TcpInErrs, "TCP segments dropped as malformed")                                          \
    X(TcpInCsumErrors, "TCP segments with a bad checksum")                                     \
    X(TcpOutSegs, "TCP segments sent")                                                         \
    X(TcpOutRsts, "TCP segments sent with RST")                                                \
    X(TcpInRstNoConn, "RST segments for no connection, dropped without reply")                 \
    X(ActiveOpens, "connections opened by us (CLOSED -> SYN-SENT)")                            \
    X(PassiveOpens, "connections accepted (LISTEN -> SYN-RECEIVED)")                           \
    X(AttemptFails, "opens that failed (SYN-SENT/SYN-RECEIVED -> CLOSED or LISTEN)")           \
    X(EstabResets, "ESTABLISHED or CLOSE-WAIT connections reset")                              \
    X(RetransSegs, "segments retransmitted")                                                   \
    X(TCPChallengeACK, "challenge ACKs sent (RFC 5961)")                                       \
    X(TCPACKSkippedChallenge, "challenge ACKs not sent: over the per-lcore limit (RFC 5961 7)") \
    X(TCPTimeouts, "retransmission or keepalive timeouts that ended a connection")             \
    X(TCPKeepAliveProbes, "keepalive probes sent")                                             \
    X(TCPFastRetrans, "fast retransmissions (RFC 5681 3.2)")                                   \
    X(TCPRenoRecovery, "NewReno recoveries entered (RFC 6582)")                                \
    X(TCPSackRecovery, "SACK recoveries entered (RFC 6675)")                                   \
    X(TCPLossProbes, "tail loss probes sent (RFC 8985 7.3)")                                   \
    X(TCPLossProbeRecovery, "losses repaired by a tail loss probe")                            \
    X(DelayedACKs, "ACKs sent by the delayed-ACK timer")                                       \
    X(TCPOFOQueue, "out-of-order segments kept")                                               \
    X(TCPOFODrop, "out-of-order segments not kept (no room)")                                  \
    X(TCPRcvQDrop, "in-window data not kept: per-connection mbuf cap or empty data pool")      \
    X(TcpDataAllocFails, "data mbufs not allocated: the worker's data pool was empty")         \
    X(PAWSEstabRejected, "segments rejected by PAWS (RFC 7323)")                               \
    X(SyncookiesSent, "SYN-ACKs carrying a cookie (no state kept)")                         \
    X(SyncookiesRecv, "ACKs with a valid cookie: connection created")                       \
    X(SyncookiesFailed, "ACKs whose cookie did not validate (forged or stale)")             \
    X(TCPRstSkippedBadCookie, "RSTs to failed-cookie ACKs not sent: over the per-worker limit") \
    X(TcpQuietTimeSynDrops, "SYNs to a listener dropped in the quiet time after start (RFC 9293 3.4.3)") \
    X(ListenOverflows, "SYNs dropped: SYN backlog full")                                       \
    X(ListenDrops, "SYNs and segments to a listener dropped, for any reason")                  \
    X(TcpConnPoolExhausted, "new connections refused: connection pool empty")                  \
    X(FlowTableFull, "new connections refused: flow table full")                               \
    X(PortsExhausted, "active opens refused: no free local port")                              \
    X(TimeWaitReopens, "TIME-WAIT entries reused by a new SYN (RFC 6191, RFC 1122)")           \
    X(TWRecycled, "TIME-WAIT entries of ours taken over by an active open (RFC 6191, Linux tw_reuse)") \
    X(TimeWaitExpired, "TIME-WAIT entries ended after 2 x MSL")                                \
    X(TCPTimeWaitOverflow, "TIME-WAIT entries recycled early: compact entry pool full")        \
    X(ArpInRequests, "ARP requests for our address")                                           \
    X(ArpInReplies, "ARP replies received")                                                    \
    X(ArpOutRequests, "ARP requests sent")                                                     \
    X(ArpOutReplies, "ARP replies sent")                                                       \
    X(ArpInOther, "ARP packets not for us, ignored")                                           \
    X(NeighUnresolved, "packets dropped waiting for a neighbour's MAC")                        \
    X(NeighTableFull, "neighbour entries not stored: table full")                              \
    X(EthInNotForUs, "frames for another MAC address")                                         \
    X(DropEthTruncated, "frames shorter than an Ethernet header")                              \
    X(DropEthBadSource, "frames from a group (multicast or broadcast) source MAC")             \
    X(DropEthUnsupportedType, "frames of an EtherType sluice does not serve")                  \
    X(DropIpv6Unsupported, "IPv6 packets while no ip.address6 is configured")                 \
    X(DropIpv6NotForUs, "IPv6 to an address that is not ours")                                 \
    X(DropIpv6Truncated, "IPv6 headers cut short")                                             \
    X(DropIpv6BadVersion, "IP version field not 6 in an IPv6 frame")                           \
    X(DropIpv6BadPayloadLength, "IPv6 payload length past the frame")                          \
    X(DropIpv6BadSource, "IPv6 from a multicast, loopback or v4-mapped source")                \
    X(DropIpv6BadDestination, "IPv6 to an unspecified, loopback or v4-mapped destination")     \
    X(DropIpv6BadExtHeader, "IPv6 extension headers malformed, misplaced or asking a discard") \
    X(DropIpv6Fragment, "IPv6 fragments")                                                      \
    X(DropNdpMalformed, "Neighbor Discovery messages failing RFC 4861 7.1 checks")             \
    X(DropArpMalformed, "malformed ARP packets")                                               \
    X(DropArpUnsupported, "ARP for other hardware or protocol types")                          \
    X(DropIpv4Truncated, "IPv4 headers cut short")                                             \
    X(DropIpv4BadVersion, "IP version field not 4")                                            \
    X(DropIpv4BadIhl, "IPv4 header length below 20 bytes or past the frame")                   \
    X(DropIpv4BadTotalLength, "IPv4 total length inconsistent with the frame")                 \
    X(DropIpv4BadChecksum, "IPv4 header checksum wrong")                                       \
    X(DropIpv4Fragment, "IPv4 fragments")                                                      \
    X(DropIpv4TtlZero, "IPv4 datagrams with TTL 0")                                            \
    X(DropIpv4BadSource, "IPv4 from a broadcast, multicast, zero, loopback or class E source") \
    X(DropIpv4BadDestination, "IPv4 to a multicast or class E destination")                    \
    X(DropIpv4NotForUs, "IPv4 to an address that is not ours")                                 \
    X(DropIpUnsupportedProto, "IP protocols other than ICMP and TCP")                          \
    X(DropIcmpTruncated, "ICMP messages cut short")                                            \
    X(DropIcmpBadChecksum, "ICMP checksum wrong")                                              \
    X(DropIcmpUnsupportedType, "ICMP types other than echo request")                           \
    X(DropTcpTruncated, "TCP headers cut short")                                               \
    X(DropTcpBadDataOffset, "TCP data offset below 5 or past the segment")                     \
    X(DropTcpBadOption, "TCP option lengths malformed")                                        \
    X(DropTcpBadChecksum, "TCP checksum wrong")                                                \
    X(DropTcpBadPort, "TCP port 0")                                                            \
    X(DropTcpSynFin, "SYN+FIN segments to a listener (scans)")                                 \
    X(DropRxMultiSegment, "received frames spanning several mbufs (not served)")               \
    X(DropTxFull, "frames dropped because the TX queue was full")                              \
    X(DropMbufExhausted, "frames not sent: mbuf pool empty")                                   \
    X(SteerOut, "frames handed to the worker that owns their flow (software steering)")       \
    X(SteerIn, "frames (and ARP copies) received from other workers")                         \
    X(DropSteerRingFull, "frames dropped: the owning worker's steering ring was full")          \
    X(LoopTurns, "worker loop iterations")                                                     \
    X(RxBursts, "non-empty RX bursts")                                                         \
    X(BusyCycles, "TSC cycles in loop turns that received packets")                            \
    X(IdleCycles, "TSC cycles in loop turns that received nothing")                            \
    SLUICE_GAUGES(X)

// Gauges: current values, not totals (Prometheus TYPE gauge).
#define SLUICE_GAUGES(X)                                                    \
    X(CurrEstab, "connections in ESTABLISHED or CLOSE-WAIT (as Linux)")     \
    X(StateSynSent, "connections in SYN-SENT")                              \
    X(StateSynReceived, "connections in SYN-RECEIVED")                      \
    X(StateEstablished, "connections in ESTABLISHED")                       \
    X(StateFinWait1, "connections in FIN-WAIT-1")                           \
    X(StateFinWait2, "connections in FIN-WAIT-2")                           \
    X(StateCloseWait, "connections in CLOSE-WAIT")                          \
    X(StateClosing, "connections in CLOSING")                               \
    X(StateLastAck, "connections in LAST-ACK")                              \
    X(StateTimeWait, "connections in TIME-WAIT (TCBs and compact entries)") \
    X(SynCacheEntries, "half-open entries in the SYN cache")                                \
    X(HalfOpen, "half-open connections: SYN cache entries plus SYN-RECEIVED TCBs")          \
    X(TimeWaitEntries, "compact TIME-WAIT entries")                         \
    X(ConnectionsInUse, "connection slots (TCBs) in use")

enum class Counter : uint16_t {
#define SLUICE_X(name, help) name,
    SLUICE_COUNTERS(SLUICE_X)
#undef SLUICE_X
        Count
};

inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::Count);

inline constexpr std::array<std::string_view, kCounterCount> kCounterNames = {
#define SLUICE_X(name, help) #name,
    SLUICE_COUNTERS(SLUICE_X)
#undef SLUICE_X
};

inline constexpr std::array<std::string_view, kCounterCount> kCounterHelp = {
#define SLUICE_X(name, help) help,
    SLUICE_COUNTERS(SLUICE_X)
#undef SLUICE_X
};

inline constexpr bool is_gauge(Counter c) {
    return static_cast<size_t>(c) >= static_cast<size_t>(Counter::CurrEstab);
}

inline constexpr std::string_view counter_name(Counter c) {
    return kCounterNames[static_cast<size_t>(c)];
}

// One worker's counters, on cache lines of their own.
struct alignas(64) Counters {
    std::array<std::atomic<uint64_t>, kCounterCount> v{};

    // Single writer: a relaxed load+store, not a locked read-modify-write.
    void add(Counter c, uint64_t n = 1) noexcept {
        auto& a = v[static_cast<size_t>(c)];
        a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void set(Counter c, uint64_t value) noexcept {
        v[static_cast<size_t>(c)].store(value, std::memory_order_relaxed);
    }
    uint64_t get(Counter c) const noexcept {
        return v[static_cast<size_t>(c)].load(std::memory_order_relaxed);
    }
};

}  // namespace sluice

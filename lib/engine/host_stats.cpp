// TcpHost's counters and connection list: the TCP statistics copied into the worker's
// published counters, and the snapshot of every connection that sluice-stat asks for. Cold:
// on a tick, not per segment.

#include <algorithm>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"

namespace sluice::engine {

void TcpHost::fill_snapshot() noexcept {
    snapshot_.begin();
    for (const auto& l : listeners_) {
        const auto row = [&](const wire::IpAddr& a) {
            snapshot_.add({.local = a, .local_port = l->cfg.port, .state = tcp::State::Listen});
        };
        if (!l->cfg.bind.empty()) {
            for (const wire::IpAddr& a : l->cfg.bind) row(a);
            continue;
        }
        row(local_);
        if (const auto& a6 = worker_.net_.address6) row(a6->addr);
    }
    flows_->for_each([&](const wire::FlowKey& k, void* v) {
        ConnRow r{.local = k.local,
                  .remote = k.remote,
                  .local_port = k.local_port,
                  .remote_port = k.remote_port};
        const auto bits = reinterpret_cast<uintptr_t>(v);
        if (bits & kTwTag) {
            r.state = tcp::State::TimeWait;
        } else {
            const Slot& s = *static_cast<Slot*>(v);
            r.set_status(s.conn->status());
            // Bytes sent and acknowledged: accepted by send() less what is still queued.
            r.bytes_sent = s.stats.bytes_sent;
            r.bytes_acked = s.stats.bytes_sent - std::min<uint64_t>(s.stats.bytes_sent, r.send_queued);
            r.bytes_received = s.stats.bytes_received;
            r.segs_in = s.stats.segments_in;
            r.segs_out = s.stats.segments_out;
            r.retrans = s.stats.retransmits;
        }
        snapshot_.add(r);
    });
    snapshot_.publish();
}

void TcpHost::publish_counters() noexcept {
    Counters& c = worker_.counters_;
    c.set(Counter::ActiveOpens, stats_.active_opens);
    c.set(Counter::PassiveOpens, stats_.passive_opens);
    c.set(Counter::AttemptFails, stats_.attempt_fails);
    c.set(Counter::EstabResets, stats_.estab_resets);
    c.set(Counter::RetransSegs, stats_.retrans_segs);
    c.set(Counter::TCPChallengeACK, stats_.challenge_acks);
    c.set(Counter::TCPACKSkippedChallenge, stats_.challenge_acks_skipped);
    c.set(Counter::TCPTimeouts, stats_.timeouts);
    c.set(Counter::TCPKeepAliveProbes, stats_.keepalive_probes);
    c.set(Counter::PAWSEstabRejected, stats_.paws_rejected);
    c.set(Counter::TCPFastRetrans, stats_.fast_retrans);
    c.set(Counter::TCPRenoRecovery, stats_.reno_recovery);
    c.set(Counter::TCPSackRecovery, stats_.sack_recovery);
    c.set(Counter::TCPLossProbes, stats_.loss_probes);
    c.set(Counter::TCPLossProbeRecovery, stats_.loss_probe_recovery);
    c.set(Counter::DelayedACKs, stats_.delayed_acks);
    c.set(Counter::TCPOFOQueue, stats_.ofo_queue);
    c.set(Counter::TCPOFODrop, stats_.ofo_drop);
    c.set(Counter::TCPRcvQDrop, stats_.rcvq_drop);
    c.set(Counter::TcpDataAllocFails, pools_.alloc_failed);
    using S = tcp::State;
    auto g = [&](S s) { return gauge_[static_cast<size_t>(s)]; };
    c.set(Counter::CurrEstab, g(S::Established) + g(S::CloseWait));  // as Linux's CurrEstab
    c.set(Counter::StateSynSent, g(S::SynSent));
    c.set(Counter::StateSynReceived, g(S::SynReceived));
    c.set(Counter::StateEstablished, g(S::Established));
    c.set(Counter::StateFinWait1, g(S::FinWait1));
    c.set(Counter::StateFinWait2, g(S::FinWait2));
    c.set(Counter::StateCloseWait, g(S::CloseWait));
    c.set(Counter::StateClosing, g(S::Closing));
    c.set(Counter::StateLastAck, g(S::LastAck));
    c.set(Counter::StateTimeWait, g(S::TimeWait));
    c.set(Counter::TimeWaitEntries, tw_pool_.in_use());
    c.set(Counter::SynCacheEntries, syn_cache_->size());
    c.set(Counter::HalfOpen, syn_cache_->size() + g(S::SynReceived));
    c.set(Counter::ConnectionsInUse, used_);
    for (size_t from = 0; from < tcp::kStateCount; ++from) {
        for (size_t to = 0; to < tcp::kStateCount; ++to) {
            transitions_.count[from * tcp::kStateCount + to].store(stats_.transitions[from][to],
                                                                   std::memory_order_relaxed);
        }
    }
}

}  // namespace sluice::engine

// TcpHost's TIME-WAIT entries: a connection in TIME-WAIT gives its slot back for a compact
// entry (tcp/time_wait.hpp) under the same flow-table key, tagged; segments to it, its 2 x MSL
// timer, reopening by a new SYN (RFC 6191) and the oldest-first recycling when the pool is full.

#include <algorithm>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"

namespace sluice::engine {

void TcpHost::on_time_wait_segment(TwSlot& tw, const wire::Frame& f, const tcp::Segment& seg,
                                   time::Instant now) noexcept {
    tcp::OutSegment reply;
    const tcp::TimeWaitResult r = tcp::time_wait_on_segment(tw.tw, seg, now, cfg_.tcp, reply);
    if (r.restarted) wheel_.start(tw.timer, tw.tw.deadline);
    switch (r.action) {
        case tcp::TimeWaitAction::Drop: return;
        case tcp::TimeWaitAction::Ack:
            if (!r.challenge || tcp::take_challenge_ack(stats_, now)) {
                emit(reply, f.src_mac, f.dst, f.src);
            } else {
                tw.tw.syn_challenged = false;  // nothing went out for a RST to answer
            }
            return;
        case tcp::TimeWaitAction::Close: free_time_wait(tw); return;
        case tcp::TimeWaitAction::Reopen: {
            // RFC 6191 / RFC 1122 4.2.2.13: the old incarnation ends, the SYN opens a new one
            // with an ISS above the old connection's sequence space.
            const wire::FlowKey key = tw.key;
            const uint32_t hash = tw.hash;
            free_time_wait(tw);
            Listener* l = listener_for(key.local_port, key.local);
            if (l == nullptr) return;
            const wire::SeqNum iss = tcp::reopen_iss(isn_.isn(tuple_of(key), now), r.iss_after);
            worker_.counters_.add(Counter::TimeWaitReopens);
            accept_syn(*l, key, hash, f, seg, now, iss);
            return;
        }
    }
}

void TcpHost::to_time_wait(Slot& s) noexcept {
    TwSlot* tw = tw_pool_.alloc();
    if (tw == nullptr) {
        // No room: the oldest entry ends early (its 2 x MSL is the most spent), counted so an
        // operator can size max_time_wait. Keeping the full TCB instead would cost a slot and
        // lose a new SYN's reopen. (Linux skips TIME-WAIT for the new one, same counter.)
        worker_.counters_.add(Counter::TCPTimeWaitOverflow);
        free_time_wait(*tw_oldest_);
        tw = tw_pool_.alloc();
    }
    tw->older = tw_newest_;
    tw->newer = nullptr;
    (tw_newest_ != nullptr ? tw_newest_->newer : tw_oldest_) = tw;
    tw_newest_ = tw;
    tw->tw = s.conn->time_wait_entry();
    tw->key = s.key;
    tw->hash = s.hash;
    tw->peer_mac = s.peer_mac;
    tw->host = this;
    tw->timer.set_callback(on_tw_timer, tw);
    wheel_.start(tw->timer, tw->tw.deadline);
    // Swap the table's value in place of erase + insert.
    s.in_table = false;
    flows_->erase(s.key, s.hash);
    flows_->insert(tw->key, tw->hash,
                   reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(tw) | kTwTag));
    ++gauge_[static_cast<size_t>(tcp::State::TimeWait)];  // the entry keeps the count
    free_slot(s);
}

void TcpHost::free_time_wait(TwSlot& tw) noexcept {
    (tw.older != nullptr ? tw.older->newer : tw_oldest_) = tw.newer;
    (tw.newer != nullptr ? tw.newer->older : tw_newest_) = tw.older;
    wheel_.stop(tw.timer);
    flows_->erase(tw.key, tw.hash);
    --gauge_[static_cast<size_t>(tcp::State::TimeWait)];
    tw_pool_.free(&tw);
}

void TcpHost::on_tw_timer(time::Timer& t, time::Instant) {
    auto& tw = *static_cast<TwSlot*>(t.context());
    tw.host->worker_.counters_.add(Counter::TimeWaitExpired);
    tw.host->free_time_wait(tw);
}

// RFC 6191 4 needs the old connection's timestamps: PAWS keeps its old duplicates out of the
// new incarnation. Our TSval is a millisecond clock (tcp::ts_clock), so the new SYN's is
// above every one sent on the old connection once time has moved on from our last segment
// there, which left when the 2 x MSL timer was last (re)started. Linux waits 1 s likewise.
bool TcpHost::time_wait_reusable(const TwSlot& tw, time::Instant now) const noexcept {
    if (!cfg_.time_wait_reuse || !tw.tw.timestamps || !cfg_.tcp.timestamps) return false;
    const time::Instant last_sent = tw.tw.deadline - 2 * cfg_.tcp.msl;
    return now - last_sent >= std::max<time::Duration>(cfg_.time_wait_reuse_after, std::chrono::milliseconds(1));
}

// A TCB held in TIME-WAIT for its unread text (run_effects): the application has read to the
// end or closed. It gets its Closed event and the 4-tuple a compact entry, as without a hold.
void TcpHost::end_time_wait_hold(Slot& s, time::Instant now) noexcept {
    if (s.app_closed || s.tw_hold_over || s.conn->state() != tcp::State::TimeWait) return;
    s.tw_hold_over = true;
    with_conn(s, now, [](tcp::Connection&, tcp::Effects& fx) {
        fx.push_event({tcp::EventKind::TimeWait, tcp::CloseReason::Normal, {}});
    });
}

}  // namespace sluice::engine

#include "tcp/time_wait.hpp"

namespace sluice::tcp {

namespace {

OutSegment make_ack(const TimeWaitEntry& tw, time::Instant now) noexcept {
    OutSegment s;
    s.src_port = tw.local_port;
    s.dst_port = tw.remote_port;
    s.seq = tw.snd_nxt;
    s.ack = tw.rcv_nxt;
    s.flags = Flags::Ack;
    s.window = tw.window;
    if (tw.timestamps) {
        s.options.has_timestamps = true;
        s.options.ts_val = ts_clock(now);
        s.options.ts_ecr = tw.ts_recent;
    }
    return s;
}

bool ts_newer(uint32_t a, uint32_t b) noexcept {
    return static_cast<int32_t>(a - b) > 0;
}

}  // namespace

TimeWaitResult time_wait_on_segment(TimeWaitEntry& tw, const Segment& seg, time::Instant now,
                                    const Config& cfg, OutSegment& reply) noexcept {
    const Flags f = seg.flags;
    const bool seg_ts = seg.options.has_timestamps;
    // Our last answer was a challenge ACK to a SYN (for the RST rule below).
    const bool syn_challenged = tw.syn_challenged;
    tw.syn_challenged = false;

    // A new SYN for the same 4-tuple: RFC 6191 4 / RFC 1122 4.2.2.13.
    if (f.has(Flags::Syn) && !f.any(Flags::Ack | Flags::Rst)) {
        bool accept;
        if (tw.timestamps) {
            // RFC 6191 4: with timestamps on the new incarnation, newer TSval, or equal
            // TSval and a higher sequence number; without them, a higher sequence number.
            if (seg_ts && cfg.timestamps)
                accept = ts_newer(seg.options.ts_val, tw.ts_recent) ||
                         (seg.options.ts_val == tw.ts_recent && seg.seq > tw.rcv_nxt);
            else
                accept = seg.seq > tw.rcv_nxt;
            if (!accept) return {TimeWaitAction::Drop, false, {}};  // RFC 6191 4: silently drop
        } else {
            // RFC 6191 2, old connection without timestamps: a new one with them is
            // honoured (PAWS guards it); without them, RFC 1122 4.2.2.13.
            accept = (seg_ts && cfg.timestamps) || seg.seq > tw.rcv_nxt;
            if (!accept) {
                reply = make_ack(tw, now);  // RFC 9293 3.10.7.4 fourth step (RFC 5961 4)
                tw.syn_challenged = true;
                return {TimeWaitAction::Ack, false, {}, true};
            }
        }
        return {TimeWaitAction::Reopen, false, tw.snd_nxt};
    }

    // RST: RFC 1337 F1, or RFC 9293 3.10.7.4 second step with RFC 5961 3.2.
    if (f.has(Flags::Rst)) {
        if (cfg.time_wait_ignores_rst) {
            // RFC 1337 F1 guards against a RST to our ACK of an old duplicate. A RST exactly
            // at RCV.NXT right after our challenge ACK to a SYN is the client in SYN-SENT
            // answering it (RFC 9293 3.10.7.3): it ends TIME-WAIT so that the retried SYN
            // opens at once instead of after 2 x MSL.
            if (syn_challenged && seg.seq == tw.rcv_nxt) return {TimeWaitAction::Close, false, {}};
            return {TimeWaitAction::Drop, false, {}};
        }
        if (seg.seq == tw.rcv_nxt) return {TimeWaitAction::Close, false, {}};
        if (wire::seq_in_window(seg.seq, tw.rcv_nxt, tw.rcv_nxt + (uint32_t(tw.window) + 1))) {
            reply = make_ack(tw, now);
            return {TimeWaitAction::Ack, false, {}, true};
        }
        return {TimeWaitAction::Drop, false, {}};
    }

    // RFC 7323 5.3 R1 (PAWS): an old timestamp is acknowledged and dropped.
    if (tw.timestamps && seg_ts && ts_newer(tw.ts_recent, seg.options.ts_val)) {
        reply = make_ack(tw, now);
        return {TimeWaitAction::Ack, false, {}};
    }

    // The peer's FIN again (our last ACK was lost): ACK it, restart 2MSL (eighth step).
    if (f.has(Flags::Fin) && seg.seq + seg.seg_len() == tw.rcv_nxt) {
        if (seg_ts && ts_newer(seg.options.ts_val, tw.ts_recent)) tw.ts_recent = seg.options.ts_val;
        tw.deadline = now + 2 * cfg.msl;
        reply = make_ack(tw, now);
        return {TimeWaitAction::Ack, true, {}};
    }

    // A bare ACK at RCV.NXT needs nothing; anything else is unacceptable: ACK (first step).
    if (seg.seq == tw.rcv_nxt && seg.seg_len() == 0) return {TimeWaitAction::Drop, false, {}};
    reply = make_ack(tw, now);
    return {TimeWaitAction::Ack, false, {}};
}

}  // namespace sluice::tcp

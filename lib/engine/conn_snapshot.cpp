#include "engine/conn_snapshot.hpp"

#include <thread>

namespace sluice::engine {

void ConnRow::set_status(const tcp::ConnectionStatus& st) noexcept {
    using std::chrono::duration_cast;
    using us = std::chrono::microseconds;
    state = st.state;
    send_queued = uint32_t(st.send_queued);
    recv_queued = uint32_t(st.recv_queued);
    srtt_us = uint32_t(duration_cast<us>(st.srtt).count());
    rttvar_us = uint32_t(duration_cast<us>(st.rttvar).count());
    rto_us = uint32_t(duration_cast<us>(st.rto).count());
    cwnd = st.cwnd;
    ssthresh = st.ssthresh;
    snd_wnd = st.snd_wnd;
    rcv_wnd = st.rcv_wnd;
    mss = st.send_mss;
    ws = st.ws_ok;
    sack = st.sack_ok;
    ts = st.ts_ok;
    snd_wscale = st.snd_wscale;
    rcv_wscale = st.rcv_wscale;
}

bool ConnSnapshot::request(std::chrono::milliseconds limit) {
    const uint64_t want = asked_.fetch_add(1, std::memory_order_acq_rel) + 1;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (served_.load(std::memory_order_acquire) != want) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

}  // namespace sluice::engine

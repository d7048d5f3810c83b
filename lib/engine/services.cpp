// The built-in services of sluice-listen, written against TcpHost's application calls.
#include "engine/services.hpp"

#include <cctype>

#include "engine/tcp_host_internal.hpp"

namespace sluice::engine {

namespace {

constexpr std::string_view kEndOfHeader = "\r\n\r\n";
constexpr std::string_view kConnectionClose = "\nconnection: close";
constexpr std::string_view kConnectionKeepAlive = "\nconnection: keep-alive";
constexpr std::string_view kHttp10 = "HTTP/1.0";
constexpr uint32_t kMaxHeaderBytes = 8192;  // as nginx's large_client_header_buffers
constexpr std::string_view kTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

// Advances a streaming match of `token` by one byte (tokens here have no self-overlap
// beyond a restart at their first byte, so this simple automaton is exact).
uint8_t match(uint8_t matched, char c, std::string_view token, bool fold_case) {
    const char x = fold_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
    if (x == token[matched]) return static_cast<uint8_t>(matched + 1);
    return x == token[0] ? 1 : 0;
}

}  // namespace

const char* service_name(Service s) {
    switch (s) {
        case Service::Echo: return "echo";
        case Service::Discard: return "discard";
        case Service::Http: return "http";
    }
    return "?";
}

void TcpHost::service_event(Slot& s, const tcp::Event& e, time::Instant now) noexcept {
    switch (e.kind) {
        case tcp::EventKind::Connected:
        case tcp::EventKind::DataReadable:
        case tcp::EventKind::SendSpace: break;
        case tcp::EventKind::PeerClosed: s.svc.peer_closed = true; break;
        default: return;  // Closed: nothing left to do; the host frees the slot
    }
    if (s.listener->cfg.service == Service::Http) {
        http_pump(s, now);
    } else {
        echo_pump(s, now);
    }
    finish_if_done(s, now);
}

// RFC 862 / RFC 863: echo what arrives (as far as the send buffer takes it), or drop it.
void TcpHost::echo_pump(Slot& s, time::Instant now) noexcept {
    const ConnId id = s.id();
    const bool echo = s.listener->cfg.service == Service::Echo;
    uint8_t buf[4096];
    for (;;) {
        size_t want = sizeof buf;
        if (echo) {
            const auto st = s.conn->status();
            const size_t room =
                cfg_.tcp.send_buffer - std::min<size_t>(st.send_queued, cfg_.tcp.send_buffer);
            want = std::min(want, room);
            if (want == 0) return;  // SendSpace resumes us
        }
        const tcp::IoResult r = receive(id, {buf, want}, now);
        if (r.bytes == 0 || slot_of(id) == nullptr) return;
        if (echo) send(id, {buf, r.bytes}, now);
        if (slot_of(id) == nullptr) return;
    }
}

// RFC 9112: requests end at an empty line; answer each with the listener's response, keep
// the connection unless the client asked to close, or spoke HTTP/1.0 without asking for
// keep-alive (RFC 9112 9.3; the answer then says "Connection: keep-alive", as ab -k expects).
void TcpHost::http_pump(Slot& s, time::Instant now) noexcept {
    const ConnId id = s.id();
    ServiceState& st = s.svc;
    const Listener& l = *s.listener;
    auto response = [&]() -> std::string_view {
        if (st.header_bytes > kMaxHeaderBytes) return kTooLarge;
        if (st.pending_close) return l.response_close;
        return st.pending_keepalive10 ? l.response_keepalive10 : l.response_keepalive;
    };
    for (;;) {
        if (st.pending) {
            const std::string_view rsp = response();
            const auto r = send(id,
                                {reinterpret_cast<const uint8_t*>(rsp.data()) + st.pending_offset,
                                 rsp.size() - st.pending_offset},
                                now);
            if (slot_of(id) == nullptr || r.error != tcp::Error::None) return;
            st.pending_offset += static_cast<uint32_t>(r.bytes);
            if (st.pending_offset < rsp.size()) return;  // SendSpace resumes us
            st.pending = false;
            st.pending_offset = 0;
            if (st.pending_close) {
                close(id, now);
                return;
            }
        }
        uint8_t buf[2048];
        const tcp::IoResult r = receive(id, buf, now);
        if (r.bytes == 0 || slot_of(id) == nullptr) return;
        for (size_t i = 0; i < r.bytes && !st.pending; ++i) {
            const char c = static_cast<char>(buf[i]);
            ++st.header_bytes;
            if (st.first_line) {
                if (c == '\n') st.first_line = false;
                st.version_matched = match(st.version_matched, c, kHttp10, false);
                if (st.version_matched == kHttp10.size()) {
                    st.http10 = true;
                    st.version_matched = 0;
                }
            }
            st.token_matched = match(st.token_matched, c, kConnectionClose, true);
            if (st.token_matched == kConnectionClose.size()) {
                st.close_requested = true;
                st.token_matched = 0;
            }
            st.keepalive_matched = match(st.keepalive_matched, c, kConnectionKeepAlive, true);
            if (st.keepalive_matched == kConnectionKeepAlive.size()) {
                st.keepalive_requested = true;
                st.keepalive_matched = 0;
            }
            st.eoh_matched = match(st.eoh_matched, c, kEndOfHeader, false);
            const bool complete = st.eoh_matched == kEndOfHeader.size();
            if (complete || st.header_bytes > kMaxHeaderBytes) {
                // Request bodies are not read: this responder serves GET-style requests.
                const bool keepalive10 = st.http10 && st.keepalive_requested;
                st.pending = true;
                st.pending_close =
                    st.close_requested || (st.http10 && !keepalive10) || !complete;
                st.pending_keepalive10 = keepalive10;
                if (complete) {  // the next request starts fresh
                    st = ServiceState{.pending = true,
                                      .pending_close = st.pending_close,
                                      .pending_keepalive10 = st.pending_keepalive10,
                                      .peer_closed = st.peer_closed};
                }
            }
        }
        if (!st.pending && r.bytes < sizeof buf) return;
    }
}

// After the peer's FIN and once nothing is left to answer, close our side (at once or after
// the listener's close delay).
void TcpHost::finish_if_done(Slot& s, time::Instant now) noexcept {
    if (!s.live || !s.svc.peer_closed || s.svc.pending) return;
    if (s.conn->status().recv_queued != 0) return;
    if (!tcp::states::kSendOpen.contains(s.conn->state())) return;  // already closing
    const auto delay = s.listener->cfg.close_delay;
    if (delay.count() > 0) {
        if (!s.app_timer.armed()) wheel_.start(s.app_timer, now + delay);
        return;
    }
    close(s.id(), now);
}

void TcpHost::service_timer(Slot& s, time::Instant now) noexcept {
    close(s.id(), now);
}

}  // namespace sluice::engine

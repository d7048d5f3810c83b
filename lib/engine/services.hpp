#pragma once
// The services sluice-listen offers on a port: echo (RFC 862), discard (RFC 863) and a
// minimal HTTP/1.1 responder (RFC 9112: keep-alive and "Connection: close", a fixed or sized
// body). They are ordinary applications of the TcpHost API: callbacks on the worker.

#include <cstdint>
#include <string>
#include <vector>

#include "tcp/syn_policy.hpp"
#include "time/instant.hpp"
#include "wire/addr.hpp"

namespace sluice::engine {

enum class Service : uint8_t { Echo, Discard, Http };

const char* service_name(Service s);

struct ListenerConfig {
    uint16_t port = 0;
    Service service = Service::Echo;
    // After the peer's FIN, wait this long before closing our side (0: close at once). Makes
    // the CLOSE-WAIT / FIN-WAIT-2 pair observable, and is how a server that finishes work
    // after the client's half-close behaves.
    time::Duration close_delay{0};
    // HTTP: the response body; if body_bytes > 0 a body of that many bytes is sent instead.
    std::string http_body = "sluice\n";
    uint32_t body_bytes = 0;
    bool keepalive = false;  // TCP keepalive (RFC 1122 4.2.3.6) on accepted connections
    // SYN handling (tcp/syn_policy.hpp): always cookies, auto (SYN cache, cookies under a
    // flood), or off (a SYN-RECEIVED connection per SYN, bounded by the backlog).
    tcp::SynPolicyConfig syn;
    // The local addresses it accepts connections on: ours, or the unspecified address of a
    // family for every address of ours in it ("0.0.0.0", "::"). Empty: all of ours, both
    // families (a dual-stack listener).
    std::vector<wire::IpAddr> bind;

    bool accepts(const wire::IpAddr& local) const noexcept {
        if (bind.empty()) return true;
        for (const wire::IpAddr& b : bind) {
            if (b == local) return true;
            if (b.family == local.family && b == wire::IpAddr{b.family, {}}) return true;
        }
        return false;
    }
    // Whether both listeners could take the same connection (same port, overlapping binds).
    bool overlaps(const ListenerConfig& o) const noexcept {
        if (port != o.port) return false;
        if (bind.empty() || o.bind.empty()) return true;
        for (const wire::IpAddr& b : bind) {
            if (o.accepts(b)) return true;
            if (b != wire::IpAddr{b.family, {}}) continue;  // a wildcard takes o's of its family
            for (const wire::IpAddr& x : o.bind)
                if (x.family == b.family) return true;
        }
        return false;
    }
};

// Per-connection state of a built-in service: small, inside the connection slot.
struct ServiceState {
    // HTTP request parsing, streamed: the end of the header block is "\r\n\r\n".
    uint8_t eoh_matched = 0;    // bytes of "\r\n\r\n" matched so far
    uint8_t token_matched = 0;  // bytes of "\nconnection: close" matched (case-insensitive)
    bool close_requested = false;
    uint8_t keepalive_matched = 0;  // bytes of "\nconnection: keep-alive" matched
    bool keepalive_requested = false;
    bool first_line = true;
    uint8_t version_matched = 0;  // bytes of "HTTP/1.0" matched on the request line
    bool http10 = false;
    uint32_t header_bytes = 0;  // of the current request, to refuse oversized ones
    // Response (or echo data) not yet accepted by send().
    uint32_t pending_offset = 0;
    bool pending = false;
    bool pending_close = false;  // close once the pending response is sent
    bool pending_keepalive10 = false;  // an HTTP/1.0 keep-alive answer (RFC 9112 9.3)
    bool peer_closed = false;
};

}  // namespace sluice::engine

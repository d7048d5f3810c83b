// TCP segment parsing (RFC 9293 3.1).
#include "wire/bytes.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace sluice::wire {

Drop parse_tcp(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
               TcpSegmentView& out) noexcept {
    if ((f.ether_type != kEtherTypeIpv4 && f.ether_type != kEtherTypeIpv6) ||
        f.ip_proto != kIpProtoTcp)
        return Drop::IpUnsupportedProto;
    // `f` came from parse_frame(), but check it against this span anyway: a stale or forged
    // Frame must not make us read past the buffer.
    if (f.l4_off > frame.size() || frame.size() - f.l4_off < f.l4_len) return Drop::TcpTruncated;
    const size_t l4_len = f.l4_len;
    if (l4_len < kTcpMinHdrLen) return Drop::TcpTruncated;
    const uint8_t* tcp = frame.data() + f.l4_off;

    const size_t hdr_len = static_cast<size_t>(tcp[kTcpDataOffOff] >> 4) * 4;
    if (hdr_len < kTcpMinHdrLen || hdr_len > l4_len) return Drop::TcpBadDataOffset;

    if (hw.l4 == HwCsum::Bad) return Drop::TcpBadChecksum;
    if (hw.l4 != HwCsum::Good) {
        const uint32_t sum = pseudo_header_sum(f.src, f.dst, kIpProtoTcp, f.l4_len);
        if (checksum_fold(checksum_partial(std::span(tcp, l4_len), sum)) != 0)
            return Drop::TcpBadChecksum;
    }

    out.src_port = load_be16(tcp + kTcpSrcPortOff);
    out.dst_port = load_be16(tcp + kTcpDstPortOff);
    // Port 0 is reserved (RFC 6335 6) and names no connection.
    if (out.src_port == 0 || out.dst_port == 0) return Drop::TcpBadPort;
    out.seq = SeqNum(load_be32(tcp + kTcpSeqOff));
    out.ack = SeqNum(load_be32(tcp + kTcpAckOff));
    out.flags = tcp[kTcpFlagsOff];
    out.window = load_be16(tcp + kTcpWindowOff);
    out.urgent = load_be16(tcp + kTcpUrgentOff);

    const Drop d = parse_tcp_options_fast(std::span(tcp + kTcpMinHdrLen, hdr_len - kTcpMinHdrLen),
                                          out.options);
    if (d != Drop::None) return d;

    out.payload_off = static_cast<uint16_t>(f.l4_off + hdr_len);
    out.payload_len = static_cast<uint16_t>(l4_len - hdr_len);
    return Drop::None;
}

}  // namespace sluice::wire

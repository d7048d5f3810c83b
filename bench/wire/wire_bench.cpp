// Hot paths of lib/wire: receive parsing with software checksums, the checksum itself, and
// building a SYN-ACK.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "wire/build.hpp"
#include "wire/checksum.hpp"
#include "wire/parse.hpp"

namespace sluice::wire {
namespace {

L3Header client_to_server() {
    L3Header l3;
    l3.src_mac = MacAddr{{0x02, 0, 0, 0, 0, 1}};
    l3.dst_mac = MacAddr{{0x02, 0, 0, 0, 0, 2}};
    l3.src = IpAddr::v4(0xc6120001);  // 198.18.0.1
    l3.dst = IpAddr::v4(0xc6120002);
    return l3;
}

std::vector<uint8_t> frame(const TcpHeaderSpec& spec, size_t payload_len, size_t min_len) {
    std::vector<uint8_t> f(2048);
    const std::vector<uint8_t> payload(payload_len, 0xa5);
    f.resize(build_tcp(f, client_to_server(), spec, payload, CsumMode::Software));
    if (f.size() < min_len) f.resize(min_len, 0);  // Ethernet padding
    return f;
}

void parse_loop(benchmark::State& state, const std::vector<uint8_t>& f) {
    Frame f0;
    TcpSegmentView s0;
    if (parse_frame(f, {}, f0) != Drop::None || parse_tcp(f, f0, {}, s0) != Drop::None) {
        state.SkipWithError("test frame does not parse");  // would time the error path
        return;
    }
    for (auto _ : state) {
        Frame fr;
        TcpSegmentView seg;
        Drop d = parse_frame(f, {}, fr);
        if (d == Drop::None) d = parse_tcp(f, fr, {}, seg);
        benchmark::DoNotOptimize(d);
        benchmark::DoNotOptimize(seg);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size()));
}

// A minimum-size SYN: MSS option only, 58 bytes padded to 60 (64 on the wire with FCS).
void BM_ParseSyn64(benchmark::State& state) {
    TcpHeaderSpec spec{.src_port = 40000,
                       .dst_port = 80,
                       .seq = SeqNum(1),
                       .flags = tcp_flags::Syn,
                       .window = 64240};
    spec.options.has_mss = true;
    spec.options.mss = 1460;
    parse_loop(state, frame(spec, 0, 60));
}
BENCHMARK(BM_ParseSyn64);

// A full-size data segment: 1460 bytes of payload, 1514-byte frame.
void BM_ParseSegment1500(benchmark::State& state) {
    const TcpHeaderSpec spec{.src_port = 40000,
                             .dst_port = 80,
                             .seq = SeqNum(1),
                             .ack = SeqNum(2),
                             .flags = tcp_flags::Ack,
                             .window = 501};
    parse_loop(state, frame(spec, 1460, 0));
}
BENCHMARK(BM_ParseSegment1500);

void BM_Checksum1460(benchmark::State& state) {
    std::vector<uint8_t> data(1460 + 1);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31);
    const std::span<const uint8_t> s(data.data() + 1, 1460);  // odd alignment, as in a frame
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.data());
        benchmark::DoNotOptimize(checksum_fold(checksum_partial(s)));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_Checksum1460);

// SYN-ACK with MSS, SACK-permitted, timestamps and window scale, checksums per mode.
void BM_BuildSynAck(benchmark::State& state) {
    const auto mode = static_cast<CsumMode>(state.range(0));
    TcpHeaderSpec spec{.src_port = 80,
                       .dst_port = 40000,
                       .seq = SeqNum(0x12345678),
                       .ack = SeqNum(2),
                       .flags = tcp_flags::Syn | tcp_flags::Ack,
                       .window = 65535};
    spec.options.has_mss = true;
    spec.options.mss = 1460;
    spec.options.sack_permitted = true;
    spec.options.has_timestamps = true;
    spec.options.ts_val = 1;
    spec.options.ts_ecr = 2;
    spec.options.has_wscale = true;
    spec.options.wscale = 7;
    const L3Header l3 = client_to_server();
    uint8_t buf[128];
    for (auto _ : state) {
        benchmark::DoNotOptimize(buf);
        benchmark::DoNotOptimize(build_tcp(buf, l3, spec, {}, mode));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_BuildSynAck)
    ->ArgName("offload")
    ->Arg(static_cast<int>(CsumMode::Software))
    ->Arg(static_cast<int>(CsumMode::Offload));

}  // namespace
}  // namespace sluice::wire

BENCHMARK_MAIN();

// Internet checksum against known vectors (RFC 1071, a captured IPv4 header), the
// pseudo-header of both families, RFC 1624 incremental update, and hw offload flags.
#include "wire/checksum.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf_core.h>

#include <random>
#include <vector>

#include "wire/bytes.hpp"

namespace sluice::wire {
namespace {

// Reference: the RFC 1071 definition, one big-endian word at a time.
uint16_t reference_checksum(std::span<const uint8_t> d, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < d.size(); i += 2) sum += uint32_t{d[i]} << 8 | d[i + 1];
    if (d.size() % 2) sum += uint32_t{d.back()} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

TEST(Checksum, Rfc1071Section3Example) {
    // RFC 1071 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (carries folded); checksum ~ddf2.
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_partial(d), 0xddf2u);
    EXPECT_EQ(checksum_fold(checksum_partial(d)), 0x220d);
}

TEST(Checksum, CapturedIpv4Header) {
    // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF; checksum field b861.
    const uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                           0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ipv4_header_checksum(hdr), 0) << "an intact header sums to zero";
    uint8_t zeroed[sizeof hdr];
    std::memcpy(zeroed, hdr, sizeof hdr);
    zeroed[10] = zeroed[11] = 0;
    EXPECT_EQ(ipv4_header_checksum(zeroed), 0xb861);
    zeroed[8] = 0x3f;  // TTL 63: the checksum must move
    EXPECT_NE(ipv4_header_checksum(zeroed), 0xb861);
}

TEST(Checksum, OddLengthPadsWithZero) {
    const uint8_t d[] = {0x12, 0x34, 0x56};
    EXPECT_EQ(checksum_partial(d), 0x1234u + 0x5600u);
    EXPECT_EQ(checksum_fold(checksum_partial(std::span<const uint8_t>{})), 0xffff);
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
    std::mt19937 rng(1071);
    std::vector<uint8_t> buf(1600);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    for (size_t off = 0; off < 8; ++off) {
        for (size_t len = 0; len + off <= 200; ++len) {
            const std::span<const uint8_t> s(buf.data() + off, len);
            ASSERT_EQ(checksum_fold(checksum_partial(s)), reference_checksum(s))
                << "off " << off << " len " << len;
        }
    }
    const std::span<const uint8_t> big(buf.data() + 3, 1460);
    EXPECT_EQ(checksum_fold(checksum_partial(big)), reference_checksum(big));
}

TEST(Checksum, AllOnesDoesNotOverflow) {
    const std::vector<uint8_t> ff(65535, 0xff);
    EXPECT_EQ(checksum_fold(checksum_partial(ff)), reference_checksum(ff));
    EXPECT_EQ(checksum_fold(checksum_partial(ff, 0xffffffffu)),
              reference_checksum(ff, 0xffff));  // 0xffffffff folds to 0xffff (-0)
}

TEST(Checksum, ChainingEvenSpansEqualsOneSpan) {
    std::vector<uint8_t> d(301);
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7 + 3);
    const std::span<const uint8_t> all(d);
    const uint32_t chained = checksum_partial(all.subspan(100), checksum_partial(all.first(100)));
    EXPECT_EQ(checksum_fold(chained), checksum_fold(checksum_partial(all)));
}

TEST(Checksum, PseudoHeaderV4) {
    // 198.18.0.1 -> 198.18.0.2, TCP, 40 bytes: c612+0001+c612+0002+0006+0028.
    const uint32_t expect = 0xc612 + 0x0001 + 0xc612 + 0x0002 + 0x0006 + 0x0028;
    EXPECT_EQ(
        checksum_reduce(pseudo_header_sum(IpAddr::v4(0xc6120001), IpAddr::v4(0xc6120002), 6, 40)),
        checksum_reduce(expect));
}

TEST(Checksum, PseudoHeaderV6UsesAllSixteenBytesAnd32BitLength) {
    const auto src = IpAddr::parse("2001:db8::1");
    const auto dst = IpAddr::parse("2001:db8::2");
    ASSERT_TRUE(src && dst);
    // RFC 8200 8.1: src, dst, 32-bit length, 24 zero bits, next header.
    std::vector<uint8_t> ph(src->bytes.begin(), src->bytes.end());
    ph.insert(ph.end(), dst->bytes.begin(), dst->bytes.end());
    const uint8_t tail[] = {0x00, 0x01, 0x00, 0x10, 0, 0, 0, 6};  // length 0x10010
    ph.insert(ph.end(), std::begin(tail), std::end(tail));
    EXPECT_EQ(checksum_fold(pseudo_header_sum(*src, *dst, 6, 0x10010)), reference_checksum(ph));
    // The v4 sum of the same first bytes differs: the family decides what is summed.
    EXPECT_NE(checksum_fold(pseudo_header_sum(*src, *dst, 6, 0x10010)),
              checksum_fold(
                  pseudo_header_sum(IpAddr::v4(0x20010db8), IpAddr::v4(0x20010db8), 6, 0x10010)));
}

TEST(Checksum, Rfc1624IncrementalUpdateMatchesRecompute) {
    std::mt19937 rng(1624);
    std::vector<uint8_t> d(64);
    for (int iter = 0; iter < 2000; ++iter) {
        for (auto& b : d) b = static_cast<uint8_t>(rng());
        d[0] = d[1] = 0;  // checksum field at 0
        store_be16(d.data(), checksum_fold(checksum_partial(d)));
        const size_t w = 2 + 2 * (rng() % 31);
        const uint16_t old_word = load_be16(d.data() + w);
        const auto new_word = static_cast<uint16_t>(rng());
        store_be16(d.data() + w, new_word);
        const uint16_t adjusted = checksum_adjust(load_be16(d.data()), old_word, new_word);
        store_be16(d.data(), adjusted);
        ASSERT_EQ(checksum_fold(checksum_partial(d)), 0) << "iteration " << iter;
    }
}

TEST(Checksum, Rfc1624Section4Example) {
    // HC = 0xdd2f, m = 0x5555 -> m' = 0x3285: eqn. 3 gives 0x0000, not -0 (0xffff).
    EXPECT_EQ(checksum_adjust(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(Checksum, RxOffloadFlags) {
    auto r = rx_csum_from_ol_flags(0);
    EXPECT_EQ(r.ip, HwCsum::Unknown);
    EXPECT_EQ(r.l4, HwCsum::Unknown);
    r = rx_csum_from_ol_flags(RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD);
    EXPECT_EQ(r.ip, HwCsum::Good);
    EXPECT_EQ(r.l4, HwCsum::Bad);
    r = rx_csum_from_ol_flags(RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    EXPECT_EQ(r.ip, HwCsum::Bad);
    EXPECT_EQ(r.l4, HwCsum::Good);
    r = rx_csum_from_ol_flags(RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE);
    EXPECT_EQ(r.ip, HwCsum::Good) << "NONE: data intact, field not filled in";
    EXPECT_EQ(r.l4, HwCsum::Good);
}

}  // namespace
}  // namespace sluice::wire

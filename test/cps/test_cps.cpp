#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "cps_config.hpp"
#include "histogram.hpp"
#include "http_response.hpp"
#include "limits.hpp"
#include "pacer.hpp"
#include "prefix.hpp"
#include "report.hpp"

#include <nlohmann/json.hpp>

namespace sluice::cps {
namespace {

// --- histogram ------------------------------------------------------------------------------

TEST(Histogram, BucketsCoverEveryValueInOrder) {
    EXPECT_EQ(Histogram::bucket_of(0), 0u);
    EXPECT_EQ(Histogram::bucket_of(31), 31u);
    EXPECT_EQ(Histogram::bucket_of(32), 32u);
    EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
    // Each bucket's range starts right after the previous one's.
    for (size_t b = 1; b < Histogram::kBuckets; ++b) {
        ASSERT_EQ(Histogram::lowest(b), Histogram::highest(b - 1) + 1) << b;
        ASSERT_EQ(Histogram::bucket_of(Histogram::lowest(b)), b);
        ASSERT_EQ(Histogram::bucket_of(Histogram::highest(b)), b);
    }
}

TEST(Histogram, RelativeErrorWithinOneThirtySecond) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100000; ++i) {
        const uint64_t v = rng() >> (rng() % 64);
        const size_t b = Histogram::bucket_of(v);
        ASSERT_LE(Histogram::lowest(b), v);
        ASSERT_GE(Histogram::highest(b), v);
        const double width = double(Histogram::highest(b) - Histogram::lowest(b));
        ASSERT_LE(width, double(v) / 32.0 + 1e-9) << v;
    }
}

TEST(Histogram, PercentilesOfAUniformRun) {
    Histogram h;
    for (uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
    EXPECT_EQ(h.count(), 100000u);
    EXPECT_EQ(h.min(), 1000u);
    EXPECT_EQ(h.max(), 100000000u);
    auto near = [](uint64_t got, double want) {
        return std::abs(double(got) - want) <= want / 32.0 + 1;
    };
    EXPECT_TRUE(near(h.percentile(50), 50e6)) << h.percentile(50);
    EXPECT_TRUE(near(h.percentile(90), 90e6)) << h.percentile(90);
    EXPECT_TRUE(near(h.percentile(99), 99e6)) << h.percentile(99);
    EXPECT_TRUE(near(h.percentile(99.9), 99.9e6)) << h.percentile(99.9);
    EXPECT_EQ(h.percentile(100), h.max());
    EXPECT_NEAR(h.mean(), 50.0005e6, 1);
}

TEST(Histogram, SmallValuesAreExactAndTheTailIsNotHidden) {
    Histogram h;
    for (int i = 0; i < 999; ++i) h.record(7);
    h.record(1'000'000);
    EXPECT_EQ(h.percentile(50), 7u);
    EXPECT_EQ(h.percentile(99.9), 7u);  // the 999th of 1000
    EXPECT_EQ(h.percentile(99.95), 1'000'000u);
    EXPECT_EQ(h.max(), 1'000'000u);
}

TEST(Histogram, EmptyAndMerge) {
    Histogram a, b;
    EXPECT_EQ(a.percentile(99), 0u);
    EXPECT_EQ(a.min(), 0u);
    a.record(100);
    b.record(300);
    b.record(200);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.min(), 100u);
    EXPECT_EQ(a.max(), 300u);
    EXPECT_EQ(a.percentile(50), Histogram::highest(Histogram::bucket_of(200)));
}

// --- pacer ----------------------------------------------------------------------------------

constexpr uint64_t kSec = 1'000'000'000;

TEST(Pacer, FirstStartIsDueAtOnceThenOnePerInterval) {
    Pacer p(1000, 5 * kSec);  // 1 ms apart
    EXPECT_EQ(p.due(5 * kSec - 1), 0u);
    EXPECT_EQ(p.due(5 * kSec), 1u);
    p.take(1);
    EXPECT_EQ(p.due(5 * kSec + 999'999), 0u);
    EXPECT_EQ(p.next_due_ns(), 5 * kSec + 1'000'000);
    EXPECT_EQ(p.due(5 * kSec + 1'000'000), 1u);
}

TEST(Pacer, KeepsTheLongRunRateExactly) {
    Pacer p(3000, 0, 1'000'000);
    uint64_t started = 0;
    for (uint64_t t = 0; t < 10 * kSec; t += 137'000) {  // an uneven loop period
        const uint64_t n = p.due(t);
        p.take(n);
        started += n;
    }
    EXPECT_NEAR(double(started), 30000.0, 1.0);
    EXPECT_EQ(p.missed(), 0u);
}

TEST(Pacer, AStallCatchesUpOnlyABurstAndCountsTheRest) {
    Pacer p(1000, 0, 10);
    p.take(p.due(0));
    // 100 ms stalled: 100 starts due, 10 allowed, 90 missed.
    EXPECT_EQ(p.due(100'000'000), 10u);
    EXPECT_EQ(p.missed(), 90u);
    p.take(10);
    EXPECT_EQ(p.due(100'000'000), 0u);
    EXPECT_EQ(p.issued(), 101u);
}

TEST(Pacer, SkippedSlotsAreMissedNotRetried) {
    Pacer p(100, 0);
    EXPECT_EQ(p.due(50'000'000), 6u);  // slots at 0, 10, ..., 50 ms
    p.skip(6);
    EXPECT_EQ(p.missed(), 6u);
    EXPECT_EQ(p.due(50'000'000), 0u);
}

TEST(Pacer, ZeroRateIsUnpaced) {
    Pacer p(0, 0);
    EXPECT_EQ(p.due(0), UINT64_MAX);
}

TEST(Pacer, HighRatesDoNotOverflow) {
    Pacer p(1'000'000'000, 0, UINT32_MAX);
    const uint64_t due = p.due(3600 * kSec);  // an hour at 1e9/s: 3.6e12 slots
    EXPECT_EQ(due, UINT32_MAX);
    EXPECT_EQ(due + p.missed(), 3600ull * 1'000'000'000 + 1);
}

// --- flood prefix ---------------------------------------------------------------------------

TEST(FloodPrefix, InsideTheTestRangeIsAllowed) {
    EXPECT_EQ(check_flood_prefix("198.19.0.0/16", kDefaultTestRange, false), "");
    EXPECT_EQ(check_flood_prefix("198.18.0.0/15", kDefaultTestRange, false), "");
    EXPECT_EQ(check_flood_prefix("198.18.7.0/24", kDefaultTestRange, false), "");
    EXPECT_EQ(check_flood_prefix("198.19.255.255/32", kDefaultTestRange, false), "");
    // Host bits are ignored: 198.19.1.7/24 is 198.19.1.0/24.
    EXPECT_EQ(check_flood_prefix("198.19.1.7/24", kDefaultTestRange, false), "");
}

TEST(FloodPrefix, OutsideOrWiderIsRefused) {
    EXPECT_NE(check_flood_prefix("10.0.0.0/8", kDefaultTestRange, false), "");
    EXPECT_NE(check_flood_prefix("198.16.0.0/14", kDefaultTestRange, false), "");  // contains it
    EXPECT_NE(check_flood_prefix("198.20.0.0/16", kDefaultTestRange, false), "");  // next door
    EXPECT_NE(check_flood_prefix("198.17.255.0/24", kDefaultTestRange, false), "");
    EXPECT_NE(check_flood_prefix("0.0.0.0/1", kDefaultTestRange, false), "");
    EXPECT_NE(check_flood_prefix("10.0.0.0/8", kDefaultTestRange, false).find("--allow-any-prefix"),
              std::string::npos);
}

TEST(FloodPrefix, AllowAnyLetsAnyWellFormedPrefixThrough) {
    EXPECT_EQ(check_flood_prefix("10.0.0.0/8", kDefaultTestRange, true), "");
    EXPECT_NE(check_flood_prefix("10.0.0.0", kDefaultTestRange, true), "");  // not a prefix
    EXPECT_NE(check_flood_prefix("nonsense/8", kDefaultTestRange, true), "");
}

TEST(FloodPrefix, AConfiguredRangeReplacesTheDefault) {
    EXPECT_EQ(check_flood_prefix("198.18.5.0/24", "198.18.0.0/16", false), "");
    EXPECT_NE(check_flood_prefix("198.19.5.0/24", "198.18.0.0/16", false), "");
    EXPECT_NE(check_flood_prefix("198.18.5.0/24", "bogus", false), "");
}

// --- HTTP response reader -------------------------------------------------------------------

HttpResponseReader::Status feed_split(HttpResponseReader& r, std::string_view s, size_t chunk) {
    auto st = HttpResponseReader::Status::More;
    for (size_t i = 0; i < s.size(); i += chunk) {
        const auto part = s.substr(i, chunk);
        st = r.feed({reinterpret_cast<const uint8_t*>(part.data()), part.size()});
    }
    return st;
}

TEST(HttpResponse, ContentLengthBodyInAnySplit) {
    const std::string resp =
        "HTTP/1.1 200 OK\r\nServer: x\r\ncontent-LENGTH:  5\r\n\r\nhello";
    for (size_t chunk = 1; chunk <= resp.size(); ++chunk) {
        HttpResponseReader r;
        ASSERT_EQ(feed_split(r, resp.substr(0, resp.size() - 1), chunk),
                  HttpResponseReader::Status::More)
            << chunk;
        ASSERT_EQ(feed_split(r, resp.substr(resp.size() - 1), 1), HttpResponseReader::Status::Done);
        EXPECT_EQ(r.code(), 200);
        EXPECT_EQ(r.body_bytes(), 5u);
    }
}

TEST(HttpResponse, NoBodyStatusesAndZeroLength) {
    HttpResponseReader a;
    EXPECT_EQ(feed_split(a, "HTTP/1.1 204 No Content\r\n\r\n", 100), HttpResponseReader::Status::Done);
    HttpResponseReader b;
    EXPECT_EQ(feed_split(b, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 3),
              HttpResponseReader::Status::Done);
}

TEST(HttpResponse, BodyUntilCloseNeedsTheFin) {
    HttpResponseReader r;
    EXPECT_EQ(feed_split(r, "HTTP/1.0 200 OK\r\n\r\nsome body", 4), HttpResponseReader::Status::More);
    EXPECT_EQ(r.on_eof(), HttpResponseReader::Status::Done);
    EXPECT_EQ(r.body_bytes(), 9u);
}

TEST(HttpResponse, CutShortOrMalformedIsBad) {
    HttpResponseReader a;
    feed_split(a, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 7);
    EXPECT_EQ(a.on_eof(), HttpResponseReader::Status::Bad);
    HttpResponseReader b;
    EXPECT_EQ(feed_split(b, "SSH-2.0-OpenSSH\r\n", 5), HttpResponseReader::Status::Bad);
    HttpResponseReader c;
    EXPECT_EQ(feed_split(c, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 5),
              HttpResponseReader::Status::Bad);
    HttpResponseReader d;  // a header block that never ends
    std::string endless = "HTTP/1.1 200 OK\r\n";
    while (endless.size() <= HttpResponseReader::kHeaderMax) endless += "X-Filler: aaaaaaaaaaaaaaaa\r\n";
    EXPECT_EQ(feed_split(d, endless, 1000), HttpResponseReader::Status::Bad);
}

TEST(HttpResponse, StatusCodeIsReported) {
    HttpResponseReader r;
    EXPECT_EQ(feed_split(r, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", 9),
              HttpResponseReader::Status::Done);
    EXPECT_EQ(r.code(), 404);
}

// --- the [cps] table ------------------------------------------------------------------------

constexpr const char* kStack = R"(
[ip]
address = "198.18.0.2/24"
source_addresses = "198.18.0.10-198.18.0.40"
[tcp]
ephemeral_ports = "40000-40099"
time_wait_reuse = false
)";

TEST(CpsConfig, ReadsItsTableAndLeavesTheRestToTheStack) {
    CpsConfig c;
    const std::string text = std::string(kStack) +
                             "[cps]\ntarget = \"198.18.0.1:8080\"\nrate = 5000\nclose = \"rst\"\n"
                             "mode = \"raw\"\nduration_s = 2.5\n";
    auto sc = parse_cps_config(text, "t.toml", c);
    ASSERT_TRUE(sc) << sc.error().message;
    EXPECT_EQ(c.target, "198.18.0.1:8080");
    EXPECT_EQ(c.rate, 5000u);
    EXPECT_EQ(c.close, CloseMode::Rst);
    EXPECT_EQ(c.mode, Mode::Raw);
    EXPECT_DOUBLE_EQ(c.duration_s, 2.5);
    EXPECT_EQ(sc->net.extra_count, 31u);
    EXPECT_TRUE(sc->net.is_local(*wire::IpAddr::parse("198.18.0.40")));
    EXPECT_FALSE(sc->net.is_local(*wire::IpAddr::parse("198.18.0.41")));
    EXPECT_EQ(sc->tcp.ephemeral_low, 40000);
    EXPECT_EQ(sc->tcp.ephemeral_high, 40099);
    EXPECT_FALSE(sc->tcp.time_wait_reuse);
}

TEST(CpsConfig, ErrorsNameTheKey) {
    CpsConfig c;
    auto bad = [&](const std::string& extra) {
        auto r = parse_cps_config(std::string(kStack) + extra, "t.toml", c);
        return r ? std::string("accepted") : r.error().message;
    };
    EXPECT_NE(bad("[cps]\nrat = 5\n").find("cps.rat"), std::string::npos);
    EXPECT_NE(bad("[cps]\nclose = \"later\"\n").find("cps.close"), std::string::npos);
    EXPECT_NE(bad("[cps]\nconcurrency = 0\n").find("cps.concurrency"), std::string::npos);
    auto r = parse_cps_config(
        "[ip]\naddress = \"198.18.0.2/24\"\nsource_addresses = \"198.18.1.1-198.18.1.3\"\n",
        "t.toml", c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("source_addresses"), std::string::npos);
    r = parse_cps_config("[ip]\naddress = \"198.18.0.2/24\"\n[tcp]\nephemeral_ports = \"9-3\"\n",
                         "t.toml", c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("ephemeral_ports"), std::string::npos);
}

TEST(CpsConfig, TheShippedDefaultLoads) {
    CpsConfig c;
    auto sc = load_cps_config(SLUICE_SOURCE_DIR "/config/cps.toml", c);
    ASSERT_TRUE(sc) << sc.error().message;
    EXPECT_EQ(c.target, "198.18.0.1:80");
    EXPECT_LE(c.concurrency, sc->tcp.max_connections);
}

// --- local waits and rate bounds (limits.hpp) -------------------------------------------------

time::Instant at_ms(int64_t ms) {
    return time::Instant{} + std::chrono::milliseconds(ms);
}

TEST(StallClock, AWaitIsOneEpisodeHoweverManyTurnsItLasts) {
    StallClock s;
    for (int turn = 0; turn < 1000; ++turn) s.begin(StallCause::NoSlot, at_ms(10));
    EXPECT_TRUE(s.active());
    s.end(at_ms(35));
    s.end(at_ms(90));  // not waiting: nothing more
    EXPECT_FALSE(s.active());
    EXPECT_EQ(s.episodes()[size_t(StallCause::NoSlot)], 1u);
    EXPECT_EQ(s.waited_ns()[size_t(StallCause::NoSlot)], 25'000'000);
    s.begin(StallCause::NoSlot, at_ms(100));
    s.end(at_ms(101));
    EXPECT_EQ(s.episodes()[size_t(StallCause::NoSlot)], 2u);
    EXPECT_EQ(s.waited_ns()[size_t(StallCause::NoLocalPort)], 0);
}

TEST(StallClock, AnotherCauseEndsTheFirstWait) {
    StallClock s;
    s.begin(StallCause::NoSlot, at_ms(0));
    s.begin(StallCause::NoLocalPort, at_ms(5));
    s.end(at_ms(12));
    EXPECT_EQ(s.episodes()[size_t(StallCause::NoSlot)], 1u);
    EXPECT_EQ(s.episodes()[size_t(StallCause::NoLocalPort)], 1u);
    EXPECT_EQ(s.waited_ns()[size_t(StallCause::NoSlot)], 5'000'000);
    EXPECT_EQ(s.waited_ns()[size_t(StallCause::NoLocalPort)], 7'000'000);
}

RateBounds defaults(CloseMode close, bool tw_reuse = true, uint32_t addresses = 1) {
    CpsConfig c;
    c.close = close;
    c.concurrency = 128;
    // Linux's port range, 1 s reuse delay, MSL 30 s, 4096 slots and 65536 TIME-WAIT entries.
    return rate_bounds(c, 30.0, tw_reuse, 1.0, addresses, 28232, 4096, 65536, 1);
}

TEST(RateBounds, ClientCloseIsBoundByPortsOverTheReuseDelay) {
    EXPECT_DOUBLE_EQ(defaults(CloseMode::Client).port_rate(), 28232.0);
    EXPECT_DOUBLE_EQ(defaults(CloseMode::Client, false).port_rate(), 28232.0 / 60);
    EXPECT_DOUBLE_EQ(defaults(CloseMode::Client, true, 4).port_rate(), 4 * 28232.0);
    EXPECT_EQ(defaults(CloseMode::Client).time_wait_rate(), 0.0) << "entries recycle with ports";
    // More ports than TIME-WAIT entries: an entry lives its 2 MSL.
    EXPECT_DOUBLE_EQ(defaults(CloseMode::Client, true, 64).time_wait_rate(), 65536.0 / 60);
    const std::string text = bounds_text(defaults(CloseMode::Client));
    EXPECT_NE(text.find("28232 conn/s"), std::string::npos) << text;
    EXPECT_NE(text.find("slots 4096 for concurrency 128"), std::string::npos) << text;
}

TEST(RateBounds, ServerOrRstCloseHoldsNoTimeWaitHere) {
    for (CloseMode m : {CloseMode::Server, CloseMode::Rst}) {
        EXPECT_EQ(defaults(m).port_rate(), 0.0);
        EXPECT_EQ(defaults(m, true, 64).time_wait_rate(), 0.0);
        EXPECT_NE(bounds_text(defaults(m)).find("no TIME-WAIT on our side"), std::string::npos);
    }
}

TEST(RateBounds, TheReportNamesTheBoundWaitedOnAndTheOptionThatLiftsIt) {
    std::array<uint64_t, kStallCauses> episodes{};
    std::array<int64_t, kStallCauses> waited{};
    episodes[size_t(StallCause::NoLocalPort)] = 12;
    waited[size_t(StallCause::NoLocalPort)] = 3'000'000'000;  // 3 s of a 10 s run
    episodes[size_t(StallCause::NoSlot)] = 2;
    waited[size_t(StallCause::NoSlot)] = 1'000'000;
    const std::string text = stalls_text(defaults(CloseMode::Client), episodes, waited, 10.0, 1);
    EXPECT_NE(text.find("no_local_port 12 (3.00 s)"), std::string::npos) << text;
    EXPECT_NE(text.find("bounded by: no_local_port (28232 ports / 1 s = 28232 conn/s), waited 30 %"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("--source"), std::string::npos) << text;

    // Two workers: 3 s of waiting is 15 % of their 20 worker-seconds.
    EXPECT_NE(stalls_text(defaults(CloseMode::Client), episodes, waited, 10.0, 2).find("waited 15 %"),
              std::string::npos);
}

TEST(RateBounds, WaitingForSlotsWithMorePortsThanTimeWaitEntriesNamesTheEntries) {
    std::array<uint64_t, kStallCauses> episodes{};
    std::array<int64_t, kStallCauses> waited{};
    episodes[size_t(StallCause::NoSlot)] = 1;
    waited[size_t(StallCause::NoSlot)] = 13'000'000'000;  // 13 s of a 20 s run
    const std::string text =
        stalls_text(defaults(CloseMode::Client, true, 64), episodes, waited, 20.0, 1);
    EXPECT_NE(text.find("no_slot 1 (13.00 s)"), std::string::npos) << text;
    EXPECT_NE(text.find("bounded by: TIME-WAIT entries (65536 held 60 s = 1092 conn/s"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tcp.max_time_wait"), std::string::npos) << text;
    // With fewer ports than entries, the slots themselves are the bound.
    EXPECT_NE(stalls_text(defaults(CloseMode::Client), episodes, waited, 20.0, 1)
                  .find("bounded by: no_slot (4096 slots)"),
              std::string::npos);
}

TEST(RateBounds, ShortWaitsDoNotNameABound) {
    std::array<uint64_t, kStallCauses> episodes{};
    std::array<int64_t, kStallCauses> waited{};
    episodes[size_t(StallCause::NoSlot)] = 1;
    waited[size_t(StallCause::NoSlot)] = 50'000'000;  // 0.5 % of 10 s
    const std::string text = stalls_text(defaults(CloseMode::Client), episodes, waited, 10.0, 1);
    EXPECT_NE(text.find("no local limit"), std::string::npos) << text;
    EXPECT_EQ(text.find("lift it"), std::string::npos) << text;
}

// Issue 21 item 4: --json is written by a JSON library: a target with a quote or a
// backslash comes back intact, and numbers stay numbers.
TEST(Report, JsonSurvivesAnyTargetName) {
    CpsConfig cfg;
    RunInfo info{.cfg = &cfg, .target = "odd\"name\\ \u00e9:80", .workers = 2};
    info.counters[size_t(Counter::ActiveOpens)] = 7;
    Results r;
    r.completed = 5;
    r.attempts = 6;
    r.start_ns = 0;
    r.end_ns = 1'000'000'000;
    const auto j = nlohmann::json::parse(report_json(info, r), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << report_json(info, r);
    EXPECT_EQ(j["target"], info.target);
    EXPECT_EQ(j["completed"], 5u);
    EXPECT_EQ(j["workers"], 2u);
    EXPECT_DOUBLE_EQ(j["cps"].get<double>(), 5.0);
    EXPECT_EQ(j["counters"]["ActiveOpens"], 7u);
    EXPECT_TRUE(j["latency_us"]["connect"].contains("p99"));

    FloodPlan p;
    FloodResult fr;
    fr.sent = 3;
    const auto f = nlohmann::json::parse(flood_report_json(info, p, fr), nullptr, false);
    ASSERT_FALSE(f.is_discarded()) << flood_report_json(info, p, fr);
    EXPECT_EQ(f["target"], info.target);
    EXPECT_EQ(f["sent"], 3u);
}

}  // namespace
}  // namespace sluice::cps

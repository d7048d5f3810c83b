#include "testbed.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ctl/telemetry_client.hpp"

namespace sluice::e2e {

using namespace std::chrono_literals;

CommandResult run(const std::string& cmd, std::chrono::seconds timeout) {
    std::string quoted;  // cmd inside single quotes, its own quotes escaped
    for (char c : cmd) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    const std::string full =
        "timeout -k 2 " + std::to_string(timeout.count()) + " sh -c '" + quoted + "' 2>&1";
    CommandResult r;
    FILE* p = ::popen(full.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

CommandResult in_client(const std::string& cmd, std::chrono::seconds timeout) {
    return run(std::string("ip netns exec ") + kClientNs + " " + cmd, timeout);
}

std::string source_path(const std::string& rel) {
    return std::string(SLUICE_SOURCE_DIR) + "/" + rel;
}
std::string build_path(const std::string& rel) {
    return std::string(SLUICE_BUILD_DIR) + "/" + rel;
}

std::string kstream(const std::string& args) {
    return build_path("test/e2e/kstream") + " " + args;
}

std::map<std::string, std::string> fields(const std::string& out) {
    std::map<std::string, std::string> f;
    static const std::regex kv("([a-z_0-9]+)=([^ \\n]+)");
    for (std::sregex_iterator it(out.begin(), out.end(), kv), end; it != end; ++it) {
        f[(*it)[1]] = (*it)[2];
    }
    return f;
}

std::string line_with(const std::string& out, const std::string& prefix) {
    const auto at = out.find(prefix);
    if (at == std::string::npos) return {};
    return out.substr(at, out.find('\n', at) - at);
}

Netns::Netns(bool relay, bool ipv6) {
    auto r = run(std::string(ipv6 ? "SLUICE_NETNS_IPV6=1 " : "") + source_path("scripts/netns.sh") +
                 (relay ? " up-relay " : " up ") + kTag);
    ok_ = r.exit_code == 0;
    error_ = r.output;
}

Netns::Netns(FleetBed) {
    auto r = run(source_path("scripts/netns.sh") + " up-fleet " + kTag);
    ok_ = r.exit_code == 0;
    error_ = r.output;
}

Netns::~Netns() {
    run(source_path("scripts/netns.sh") + " down " + kTag);
}

bool use_af_xdp() {
    const char* pmd = std::getenv("SLUICE_PMD");
    return pmd != nullptr && std::string(pmd) == "af_xdp";
}

namespace {

// "iface=X,qpairs=2,framecnt=4096" for net_af_packet -> "iface=X,queue_count=2": the
// af_packet ring options mean nothing to net_af_xdp.
std::string af_xdp_args(const std::string& packet_args) {
    std::string out;
    std::stringstream in(packet_args);
    for (std::string kv; std::getline(in, kv, ',');) {
        if (kv.rfind("qpairs=", 0) == 0) kv = "queue_count=" + kv.substr(7);
        if (kv.rfind("iface=", 0) != 0 && kv.rfind("queue_count=", 0) != 0) continue;
        out += (out.empty() ? "" : ",") + kv;
    }
    return out;
}

}  // namespace

std::string pmd_config(const std::string& path) {
    if (!use_af_xdp()) return path;
    std::ifstream in(path);
    std::string text, line;
    static const std::regex device(R"re(^device\s*=\s*"net_af_packet\d*")re");
    static const std::regex vdev(R"re(^vdev_args\s*=\s*"([^"]*)")re");
    static const std::regex rx_descriptors(R"re(^rx_descriptors\s*=)re");
    std::smatch m;
    bool has_rx_descriptors = false;
    while (std::getline(in, line)) {
        has_rx_descriptors |= std::regex_search(line, rx_descriptors);
        if (std::regex_search(line, device)) {
            line = "device = \"net_af_xdp0\"";
        } else if (std::regex_search(line, m, vdev)) {
            line = "vdev_args = \"" + af_xdp_args(m[1]) + "\"";
            // The AF_XDP RX ring is all that buffers frames while the worker is off its core
            // (af_packet has framecnt=): a flood overflows 1024 entries in 4 ms.
            line += "\nrx_descriptors = 4096 # sluice-t-xdp";
        }
        text += line + "\n";
    }
    if (has_rx_descriptors) {  // the config's own value wins: drop ours
        text = std::regex_replace(text, std::regex("\nrx_descriptors = 4096 # sluice-t-xdp"), "");
    }
    char tmp[] = "/tmp/sluice-t-xdp-XXXXXX.toml";
    const int fd = ::mkstemps(tmp, 5);
    if (fd < 0) return path;
    const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    return written ? std::string(tmp) : path;
}

StagedInstall::StagedInstall(const std::string& tags) {
    char tmpl[] = "/tmp/sluice-t-stage-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dest_ = tmpl;
    const auto r = run("meson install -C " + build_path("") + " --destdir " + dest_ +
                           " --no-rebuild --quiet" + (tags.empty() ? "" : " --tags " + tags),
                       std::chrono::seconds(180));
    output_ = r.output;
    if (r.exit_code != 0) return;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dest_))
        if (e.path().filename() == "sluice.pc") pc_ = e.path().string();
    if (pc_.empty()) output_ += "\nno sluice.pc installed";
}

StagedInstall::~StagedInstall() {
    if (!dest_.empty()) std::filesystem::remove_all(dest_);
}

SluiceListen::SluiceListen(std::vector<std::string> extra, std::string cfg, std::string bin,
                           std::string ready_marker) {
    start(Place{}, std::move(extra), std::move(cfg), std::move(bin), ready_marker);
}

SluiceListen::SluiceListen(std::string cfg, const Place& where) {
    start(where, {}, std::move(cfg), {}, ": ready on ");
}

void SluiceListen::start(const Place& where, std::vector<std::string> extra, std::string cfg,
                         std::string bin, const std::string& ready_marker) {
    file_prefix_ = where.file_prefix;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    if (bin.empty()) bin = build_path("app/sluice-listen");
    if (cfg.empty()) cfg = source_path("config/listen.toml");
    if (const std::string c = pmd_config(cfg); c != cfg) cfg = tmp_config_ = c;
    std::vector<std::string> args = {"ip",        "netns",
                                     "exec",      where.ns,
                                     bin,         "--file-prefix=" + where.file_prefix,
                                     "--",        "--config",
                                     cfg,         "--iface",
                                     where.iface};
    args.insert(args.end(), extra.begin(), extra.end());

    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
    if (pid_ < 0) return;
    // Wait (bounded) for the ready line.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        drain(100ms);
        if (output_.find(ready_marker) != std::string::npos) {
            ok_ = true;
            // Say which wire the run is on: the ready line names the PMD.
            if (use_af_xdp()) std::fprintf(stderr, "%s\n", line_with(output_, ready_marker).c_str());
            return;
        }
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it exited: start-up failed
            pid_ = -1;
            drain(0ms);
            return;
        }
    }
}

const std::string& SluiceListen::read_output(std::chrono::milliseconds wait) {
    drain(wait);
    return output_;
}

bool SluiceListen::wait_output(const std::string& text, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (output_.find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        drain(50ms);
    }
    return true;
}

void SluiceListen::drain(std::chrono::milliseconds wait) {
    if (out_fd_ < 0) return;
    pollfd p{out_fd_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
        char buf[4096];
        const ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n <= 0) break;
        output_.append(buf, static_cast<size_t>(n));
        wait = 0ms;
    }
}

int SluiceListen::stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        drain(50ms);
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
    }
    drain(0ms);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

SluiceListen::~SluiceListen() {
    stop();
    if (out_fd_ >= 0) ::close(out_fd_);
    if (!tmp_config_.empty()) ::unlink(tmp_config_.c_str());
}

std::optional<std::string> SluiceListen::telemetry(const std::string& command) const {
    auto c = ctl::TelemetryClient::connect(file_prefix_);
    if (!c) return std::nullopt;
    return c->query(command);
}

uint64_t get(const Counters& c, const std::string& name) {
    auto it = c.find(name);
    if (it != c.end()) return it->second;
    ADD_FAILURE() << "counter " << name << " was not read"
                  << (c.empty() ? " (no counters at all: the telemetry read failed)"
                                : " (no such counter)");
    return 0;
}

std::optional<Counters> try_read_counters(const std::string& prefix, const std::string& command) {
    auto c = ctl::TelemetryClient::connect(prefix);
    if (!c) return std::nullopt;
    return c->query_counters(command);
}

void fail_read(const std::string& what) {
    ADD_FAILURE() << "telemetry read failed: " << what;
}

Counters read_counters(const std::string& prefix, const std::string& command) {
    auto v = try_read_counters(prefix, command);
    if (!v) fail_read(command + " of file prefix " + prefix);
    return v ? *v : Counters{};
}

Counters SluiceListen::counters() const { return read_counters(file_prefix_, "/sluice/stats"); }

std::optional<Counters> SluiceListen::try_counters() const {
    return try_read_counters(file_prefix_, "/sluice/stats");
}

uint64_t SluiceListen::counter(const std::string& name) const { return get(counters(), name); }

KernelProcess::KernelProcess(const std::string& cmd, std::chrono::seconds timeout) {
    f_ = ::popen((std::string("ip netns exec ") + kClientNs + " timeout " +
                  std::to_string(timeout.count()) + " " + cmd + " 2>&1")
                     .c_str(),
                 "r");
}

KernelProcess::~KernelProcess() {
    if (f_ != nullptr) ::pclose(f_);
}

std::string KernelProcess::line() {
    char buf[512];
    if (f_ == nullptr || std::fgets(buf, sizeof buf, f_) == nullptr) return {};
    return buf;
}

std::string KernelProcess::rest() {
    std::string out;
    for (std::string l = line(); !l.empty(); l = line()) out += l;
    return out;
}

void SluiceListen::poll_pause() {
    std::this_thread::sleep_for(20ms);
}

}  // namespace sluice::e2e

#include "testbed.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <thread>

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

Netns::~Netns() {
    run(source_path("scripts/netns.sh") + " down " + kTag);
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
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    if (bin.empty()) bin = build_path("app/sluice-listen");
    if (cfg.empty()) cfg = source_path("config/listen.toml");
    std::vector<std::string> args = {
        "ip",      "netns",     "exec",
        kServerNs, bin,         std::string("--file-prefix=") + kFilePrefix,
        "--",      "--config",  cfg,
        "--iface", kServerIface};
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
}

std::optional<std::string> SluiceListen::telemetry(const std::string& command) const {
    auto c = ctl::TelemetryClient::connect(kFilePrefix);
    if (!c) return std::nullopt;
    return c->query(command);
}

std::map<std::string, uint64_t> SluiceListen::counters() const {
    auto c = ctl::TelemetryClient::connect(kFilePrefix);
    if (!c) return {};
    auto v = c->query_counters("/sluice/stats");
    return v ? *v : std::map<std::string, uint64_t>{};
}

uint64_t SluiceListen::counter(const std::string& name) const {
    auto c = counters();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
}

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

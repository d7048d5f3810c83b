#pragma once
// A streaming reader of one HTTP/1.1 response (RFC 9112): the status line, the header
// fields (only Content-Length matters here), then the body. Bytes may arrive in any
// split. Fixed memory: a header line longer than kLineMax is kept truncated (only the
// status line and Content-Length are read), a header block over kHeaderMax is an error.
// Without Content-Length the body runs to the server's FIN (RFC 9112 6.3 item 8).

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice::cps {

class HttpResponseReader {
public:
    enum class Status : uint8_t { More, Done, Bad };
    static constexpr size_t kLineMax = 128;
    static constexpr size_t kHeaderMax = 16384;

    void reset() noexcept { *this = HttpResponseReader{}; }

    // Consumes bytes; Done once the whole response is in (bytes after it are ignored).
    Status feed(std::span<const uint8_t> data) noexcept {
        for (size_t i = 0; i < data.size() && state_ != Status::Bad; ++i) {
            if (in_body_) {
                const uint64_t n = content_length_ < 0 ? data.size() - i
                                                       : std::min<uint64_t>(data.size() - i,
                                                                            uint64_t(content_length_) - body_);
                body_ += n;
                if (content_length_ >= 0 && body_ == uint64_t(content_length_)) state_ = Status::Done;
                break;
            }
            if (state_ == Status::Done) break;
            header_byte(static_cast<char>(data[i]));
        }
        return state_;
    }
    // The server's FIN arrived: Done if the body ran to it, Bad if the response was cut short.
    Status on_eof() noexcept {
        if (state_ == Status::More) state_ = in_body_ && content_length_ < 0 ? Status::Done : Status::Bad;
        return state_;
    }

    Status status() const noexcept { return state_; }
    int code() const noexcept { return code_; }
    uint64_t body_bytes() const noexcept { return body_; }

private:
    void header_byte(char c) noexcept {
        if (++header_bytes_ > kHeaderMax) {
            state_ = Status::Bad;
            return;
        }
        if (c != '\n') {
            if (line_len_ < kLineMax) line_[line_len_] = c;
            ++line_len_;
            return;
        }
        size_t len = line_len_ < kLineMax ? line_len_ : kLineMax;
        if (len > 0 && line_[len - 1] == '\r') --len;
        line_len_ = 0;
        if (first_line_) {
            first_line_ = false;
            if (!status_line(len)) state_ = Status::Bad;
            return;
        }
        if (len == 0) {  // end of the header block
            in_body_ = true;
            // RFC 9112 6.3: 1xx, 204 and 304 have no body.
            if (content_length_ == 0 || code_ == 204 || code_ == 304 || code_ < 200) {
                content_length_ = 0;
                state_ = Status::Done;
            }
            return;
        }
        header_field(len);
    }

    bool status_line(size_t len) noexcept {
        // "HTTP/1.x SSS reason"
        constexpr char kPrefix[] = "HTTP/1.";
        if (len < 12) return false;
        for (size_t i = 0; i < 7; ++i)
            if (line_[i] != kPrefix[i]) return false;
        if (line_[8] != ' ') return false;
        int code = 0;
        for (size_t i = 9; i < 12; ++i) {
            if (line_[i] < '0' || line_[i] > '9') return false;
            code = code * 10 + (line_[i] - '0');
        }
        code_ = code;
        return true;
    }

    void header_field(size_t len) noexcept {
        constexpr char kName[] = "content-length:";
        constexpr size_t kNameLen = sizeof kName - 1;
        if (len < kNameLen) return;
        for (size_t i = 0; i < kNameLen; ++i) {
            char c = line_[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != kName[i]) return;
        }
        int64_t v = 0;
        bool digits = false;
        for (size_t i = kNameLen; i < len; ++i) {
            const char c = line_[i];
            if (c == ' ' || c == '\t') continue;
            if (c < '0' || c > '9' || v > (int64_t{1} << 40)) {
                state_ = Status::Bad;
                return;
            }
            v = v * 10 + (c - '0');
            digits = true;
        }
        if (!digits) state_ = Status::Bad;
        content_length_ = v;
    }

    Status state_ = Status::More;
    bool first_line_ = true;
    bool in_body_ = false;
    int code_ = 0;
    int64_t content_length_ = -1;
    uint64_t body_ = 0;
    uint32_t header_bytes_ = 0;
    size_t line_len_ = 0;
    char line_[kLineMax]{};
};

}  // namespace sluice::cps

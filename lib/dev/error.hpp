#pragma once
// Set-up errors. Bring-up code returns Result<T>; the message says what went wrong and what
// to do about it, because the person reading it is at a terminal trying to get a port up.

#include <string>
#include <utility>
#include <variant>

namespace sluice::dev {

struct Error {
    std::string message;
    int code = 0;  // an errno value where one fits (EADDRNOTAVAIL, ENOMEM, ...), else 0
};

template <typename T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};

}  // namespace sluice::dev

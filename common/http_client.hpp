// An HTTP client over libcurl for tools that push data: one connection kept
// alive between requests, a deadline per request, TLS with an optional CA
// file and client certificate, and a bounded response body. Not thread-safe:
// one client per sending thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};  // whole request; 0: no limit
  std::string ca_file;                       // trusted CAs (PEM); empty: the system's
  std::string client_certificate;            // PEM, for mutual TLS
  std::string client_key;                    // PEM
  std::string user_agent;
  std::size_t max_response_size = 4 << 20;   // larger bodies are cut and flagged
};

struct HttpResponse {
  // 0 when no HTTP response came back (connection refused, timeout, TLS
  // failure, ...); `error` then says why.
  long status = 0;
  std::string error;
  std::string content_type;
  std::string retry_after;  // the raw header value, if any
  std::string body;
  bool body_truncated = false;  // the body was larger than max_response_size
  bool timed_out = false;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` with the given header lines ("Name: value").
  HttpResponse post(const std::string& url, std::string_view body,
                    const std::vector<std::string>& headers);

 private:
  HttpClientOptions options_;
  void* curl_;  // CURL*
};

// Initializes libcurl for the process; call once from main before any
// thread starts.
void http_client_global_init();

// The version of the libcurl in use, for --version.
std::string libcurl_version();

// Seconds to wait according to a Retry-After value (delay-seconds or an
// HTTP-date, RFC 9110 10.2.3), from `now_s` (seconds since the epoch);
// nullopt when the value is neither. A date in the past is 0.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_s);

}  // namespace kv

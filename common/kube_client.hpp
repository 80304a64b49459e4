// HTTP to the Kubernetes API over libcurl: whole responses for LIST and
// discovery, line by line for WATCH streams. TLS is verified unless the
// kubeconfig says otherwise; the bearer token is re-read when its file changes.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "kube_config.hpp"

namespace kv {

// The bearer token of a KubeAccess: fixed, or read from a file and read again
// when the file changes or the server said 401. Thread-safe.
class BearerToken {
 public:
  explicit BearerToken(const KubeAccess& access);
  // The token to send now; empty when there is none.
  std::string current();
  // After a 401: read the file again even if it looks unchanged.
  void invalidate();
  bool from_file() const { return !file_.empty(); }

 private:
  void load_locked();
  std::mutex mu_;
  std::string file_;
  std::string token_;
  std::int64_t seen_mtime_ns_ = -1;
  std::int64_t seen_size_ = -1;
  bool stale_ = true;
};

struct KubeRequestLimits {
  std::chrono::milliseconds connect_timeout{10'000};
  // Until the response starts, and for whole responses between two reads:
  // a server that accepts and never answers is given up after this.
  std::chrono::milliseconds response_timeout{30'000};
  // The whole exchange, 0 for none (watches end by the server's timeout).
  std::chrono::milliseconds total_timeout{0};
};

struct KubeResponse {
  long status = 0;        // HTTP status; 0 when no response came
  std::string body;       // whole body (for a stream: only when not 200)
  std::string error;      // set when the exchange failed (no answer, or cut off mid-stream)
  bool timed_out = false; // no answer within the limits
  bool stopped = false;   // the caller's stop flag ended it
  bool tls_failure = false;  // the TLS handshake failed (certificate, CA, key)
  std::optional<std::chrono::seconds> retry_after;
  std::string content_type;
};

// Called for each line of a 200 stream; returning false ends the stream.
using KubeLineHandler = std::function<bool(std::string_view line)>;

// One connection's worth of state (a curl handle keeps its connection open
// between requests); use one session per thread.
class KubeSession {
 public:
  KubeSession(const KubeAccess& access, std::shared_ptr<BearerToken> token);
  ~KubeSession();
  KubeSession(const KubeSession&) = delete;
  KubeSession& operator=(const KubeSession&) = delete;

  KubeResponse get(const std::string& path_and_query, const KubeRequestLimits& limits,
                   const std::atomic<bool>* stop = nullptr);
  KubeResponse stream(const std::string& path_and_query, const KubeRequestLimits& limits,
                      const KubeLineHandler& on_line, const std::atomic<bool>* stop = nullptr);

  struct Transfer;  // one request's state, shared with libcurl's callbacks

 private:
  KubeResponse perform(const std::string& path_and_query, const KubeRequestLimits& limits,
                       const KubeLineHandler* on_line, const std::atomic<bool>* stop);
  const KubeAccess& access_;
  std::shared_ptr<BearerToken> token_;
  void* curl_ = nullptr;
};

// A short description of a failed response for messages: the Status
// message the API server sent, or the start of the body.
std::string describe_failure(const KubeResponse& r);

}  // namespace kv

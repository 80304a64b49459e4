// Pushes each published merge to an OTLP/HTTP collector from a thread of
// its own: publishing only queues a batch, so a slow, hung or absent
// collector never holds up the input or the HTTP endpoint.
//
// Delivery follows the OTLP specification (docs/specification.md,
// "OTLP/HTTP Response"): 429, 502, 503 and 504 and connection failures are
// retried, after the server's Retry-After or else an exponential backoff
// with jitter; any other error status (400 bad data, 401, 404, 413, ...)
// is permanent: logged with the server's message, counted, not retried. A
// batch is given up once --otlp-retry-max-time has passed since it was
// queued. The queue holds at most --otlp-queue-size batches besides the one
// whose request is in flight; when a new batch finds it full, the oldest
// waiting batch is dropped and counted. Batches are encoded on the sending
// thread, when their turn comes, so a dropped batch costs no encoding.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "otlp_batch.hpp"
#include "otlp_config.hpp"
#include "self_metrics.hpp"

namespace kv {
class HttpClient;
struct HttpResponse;
}  // namespace kv

namespace kv::promfmt {

class OtlpExporter {
 public:
  OtlpExporter(OtlpExporterConfig config, KeyValues resource, SelfMetrics& self,
               std::string user_agent);
  ~OtlpExporter();

  // Starts the sending thread.
  void start();
  // Queues a batch; never waits for the network.
  void enqueue(std::shared_ptr<const OtlpBatch> batch);
  // Waits until no batch is queued or in flight (each delivered or given
  // up), or until `deadline`. True when the latest batch queued was
  // delivered whole (or none was queued).
  bool drain(std::chrono::steady_clock::time_point deadline);
  // True when no batch is queued or in flight.
  bool idle();
  // From now on a failed attempt gives the batch up instead of waiting to
  // retry it: for a quick exit on a signal.
  void stop_retrying();

 private:
  struct Item;
  enum class Outcome { delivered, rejected, retry };
  void run();
  Outcome send(HttpClient& client, Item& item, std::chrono::milliseconds& retry_in);
  std::chrono::milliseconds backoff(int attempt);
  void publish_queue_length();

  OtlpExporterConfig config_;
  KeyValues resource_;
  SelfMetrics& self_;
  std::string user_agent_;
  std::vector<std::string> header_lines_;

  std::mutex mu_;
  std::condition_variable wake_;  // to the sender: work, or stop
  std::condition_variable idle_;  // to drain(): the queue emptied
  std::deque<std::shared_ptr<Item>> queue_;
  bool in_flight_ = false;  // queue_.front()'s request is being sent
  bool no_retries_ = false;
  bool dropping_ = false;   // batches were dropped since the last delivery (log once)
  bool exiting_ = false;
  std::uint64_t enqueued_ = 0;   // sequence number of the latest batch queued
  std::uint64_t delivered_ = 0;  // ... and of the latest delivered whole
  std::uint32_t random_state_;
  std::thread thread_;
};

// What an OTLP/HTTP response body says: the rejected data points of a
// partial success, or the message of an error (a google.rpc.Status), read
// as protobuf or JSON after the Content-Type; other bodies (a proxy's error
// page) are shown as text, shortened.
struct OtlpResponseInfo {
  std::int64_t rejected_points = 0;
  std::string message;
};
OtlpResponseInfo parse_otlp_success(std::string_view content_type, std::string_view body);
std::string otlp_error_message(std::string_view content_type, std::string_view body);

}  // namespace kv::promfmt

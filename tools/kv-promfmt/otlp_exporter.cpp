#include "otlp_exporter.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "clock.hpp"
#include "duration.hpp"
#include "gzip.hpp"
#include "http_client.hpp"
#include "logging.hpp"
#include "otlp_encoder.hpp"

namespace kv::promfmt {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{30000};

bool retryable_status(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Reads protobuf fields one after the other.
class ProtoFields {
 public:
  explicit ProtoFields(std::string_view bytes) : rest_(bytes) {}
  // False at the end or on malformed input.
  bool next(std::uint32_t& field, std::uint64_t& varint, std::string_view& bytes) {
    std::uint64_t key;
    if (rest_.empty() || !read_varint(key)) return false;
    field = static_cast<std::uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: return read_varint(varint);
      case 1: return skip(8);
      case 5: return skip(4);
      case 2: {
        std::uint64_t len;
        if (!read_varint(len) || len > rest_.size()) return false;
        bytes = rest_.substr(0, len);
        rest_.remove_prefix(len);
        return true;
      }
      default: return false;
    }
  }

 private:
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && !rest_.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(rest_.front());
      rest_.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool skip(std::size_t n) {
    if (rest_.size() < n) return false;
    rest_.remove_prefix(n);
    return true;
  }
  std::string_view rest_;
};

bool is_protobuf(std::string_view content_type) {
  return content_type.starts_with("application/x-protobuf");
}
bool is_json(std::string_view content_type) { return content_type.starts_with("application/json"); }

// A body for a log line: printable, one line, not too long.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 300;
  std::string out;
  for (char c : text.substr(0, kMax)) out += std::isprint(static_cast<unsigned char>(c)) ? c : ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (text.size() > kMax) out += "...";
  return out;
}

std::string seconds_text(std::chrono::milliseconds d) {
  return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

OtlpResponseInfo parse_otlp_success(std::string_view content_type, std::string_view body) {
  OtlpResponseInfo info;
  if (body.empty()) return info;
  if (is_protobuf(content_type)) {
    // ExportMetricsServiceResponse{partial_success = 1:
    //   ExportMetricsPartialSuccess{rejected_data_points = 1, error_message = 2}}
    ProtoFields response(body);
    std::uint32_t field;
    std::uint64_t varint;
    std::string_view bytes;
    while (response.next(field, varint, bytes)) {
      if (field != 1) continue;
      ProtoFields partial(bytes);
      while (partial.next(field, varint, bytes)) {
        if (field == 1) info.rejected_points = static_cast<std::int64_t>(varint);
        if (field == 2) info.message = std::string(bytes);
      }
    }
  } else if (is_json(content_type)) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc, partial, rejected;
    if (parser.parse(body.data(), body.size()).get(doc) ||
        doc["partialSuccess"].get(partial))
      return info;
    if (!partial["rejectedDataPoints"].get(rejected)) {
      std::int64_t n = 0;
      std::string_view text;
      if (!rejected.get_int64().get(n)) info.rejected_points = n;
      else if (!rejected.get_string().get(text)) info.rejected_points = std::atoll(std::string(text).c_str());
    }
    std::string_view message;
    if (!partial["errorMessage"].get_string().get(message)) info.message = std::string(message);
  }
  return info;
}

std::string otlp_error_message(std::string_view content_type, std::string_view body) {
  if (is_protobuf(content_type)) {
    // google.rpc.Status{code = 1, message = 2, details = 3}
    ProtoFields status(body);
    std::uint32_t field;
    std::uint64_t varint;
    std::string_view bytes;
    while (status.next(field, varint, bytes))
      if (field == 2) return printable(bytes);
    return body.empty() ? "" : "(a protobuf body without a message)";
  }
  if (is_json(content_type)) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view message;
    if (!parser.parse(body.data(), body.size()).get(doc) && !doc["message"].get_string().get(message))
      return printable(message);
  }
  return printable(body);
}

struct OtlpExporter::Item {
  std::uint64_t seq;
  std::shared_ptr<const OtlpBatch> batch;  // until encoded
  Clock::time_point queued;
  Clock::time_point ready;  // not sent before this (backoff)
  std::optional<std::vector<std::string>> bodies;
  std::size_t next = 0;       // the first body not yet delivered
  int attempts = 0;           // failed attempts at bodies[next]
  int retried = 0;            // failed attempts at the bodies delivered
  std::string error;          // why the last attempt failed
  bool retry_after = false;   // ... and whether the server said when to retry
  std::optional<OtlpFailure> lost;  // why a part was refused for good
};

OtlpExporter::OtlpExporter(OtlpExporterConfig config, KeyValues resource, SelfMetrics& self,
                           std::string user_agent)
    : config_(std::move(config)),
      resource_(std::move(resource)),
      self_(self),
      user_agent_(std::move(user_agent)),
      random_state_((static_cast<std::uint32_t>(Clock::now().time_since_epoch().count()) ^
                     static_cast<std::uint32_t>(::getpid())) | 1u) {
  header_lines_.push_back(config_.protocol == OtlpProtocol::http_json
                              ? "Content-Type: application/json"
                              : "Content-Type: application/x-protobuf");
  if (config_.gzip) header_lines_.push_back("Content-Encoding: gzip");
  for (const auto& [name, value] : config_.headers) header_lines_.push_back(name + ": " + value);
}

OtlpExporter::~OtlpExporter() {
  {
    std::lock_guard lock(mu_);
    exiting_ = true;
    no_retries_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::start() { thread_ = std::thread([this] { run(); }); }

void OtlpExporter::enqueue(std::shared_ptr<const OtlpBatch> batch) {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  auto item = std::make_shared<Item>();
  item->seq = ++enqueued_;
  item->batch = std::move(batch);
  item->queued = item->ready = now;
  // The batch whose request is in flight stays; of the others, the oldest goes.
  std::size_t first_waiting = in_flight_ ? 1 : 0;
  if (queue_.size() - first_waiting >= config_.queue_size) {
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(first_waiting));
    self_.otlp_dropped();
    if (!dropping_) spdlog::warn("OTLP: the queue is full ({} snapshots, --otlp-queue-size): "
                                 "dropping the oldest waiting snapshot", config_.queue_size);
    else spdlog::debug("OTLP: queue full: dropped the oldest waiting snapshot");
    dropping_ = true;
  }
  queue_.push_back(std::move(item));
  publish_queue_length();
  wake_.notify_one();
}

bool OtlpExporter::drain(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  idle_.wait_until(lock, deadline, [&] { return queue_.empty() && !in_flight_; });
  return delivered_ == enqueued_;
}

bool OtlpExporter::idle() {
  std::lock_guard lock(mu_);
  return queue_.empty() && !in_flight_;
}

void OtlpExporter::stop_retrying() {
  {
    std::lock_guard lock(mu_);
    no_retries_ = true;
  }
  wake_.notify_all();
}

void OtlpExporter::publish_queue_length() { self_.otlp_queue(queue_.size()); }

std::chrono::milliseconds OtlpExporter::backoff(int attempt) {
  // Exponential, capped, with "equal jitter": half fixed, half random, so
  // that many exporters that failed together do not retry together.
  std::chrono::milliseconds d = kFirstBackoff * (1LL << std::min(attempt - 1, 16));
  d = std::min(d, kMaxBackoff);
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 17;
  random_state_ ^= random_state_ << 5;
  auto half = d / 2;
  return half + std::chrono::milliseconds(random_state_ % (half.count() + 1));
}

void OtlpExporter::run() {
  HttpClient client({config_.timeout, config_.certificate, config_.client_certificate,
                     config_.client_key, user_agent_, 4 << 20});
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      idle_.notify_all();
      if (exiting_) return;
      wake_.wait(lock);
      continue;
    }
    std::shared_ptr<Item> item = queue_.front();
    if (!no_retries_ && item->ready > Clock::now()) {
      wake_.wait_until(lock, item->ready);  // or a new batch, which may drop this one
      continue;
    }
    in_flight_ = true;
    lock.unlock();
    std::chrono::milliseconds retry_in{0};
    Outcome outcome = send(client, *item, retry_in);
    lock.lock();
    in_flight_ = false;

    if (outcome == Outcome::retry) {
      auto when = Clock::now() + retry_in;
      if (!no_retries_ && when <= item->queued + config_.retry_max_time) {
        self_.otlp_retried();
        item->ready = when;
        spdlog::warn("OTLP: POST {}: {}; retrying in {}{}", config_.url, item->error,
                     seconds_text(retry_in), item->retry_after ? " (Retry-After)" : "");
        continue;
      }
      self_.otlp_failed(OtlpFailure::retries_exhausted);
      spdlog::error("OTLP: POST {}: {}; gave up on a snapshot after {} failed attempt{} ({})",
                    config_.url, item->error, item->attempts, item->attempts == 1 ? "" : "s",
                    no_retries_ ? "exiting" : "--otlp-retry-max-time " +
                                                  seconds_text(config_.retry_max_time));
    } else if (outcome == Outcome::rejected) {
      self_.otlp_failed(*item->lost);
      spdlog::debug("OTLP: snapshot {} not delivered whole ({})", item->seq,
                    to_string(*item->lost));
    } else {
      delivered_ = std::max(delivered_, item->seq);
      dropping_ = false;
      self_.otlp_exported();
      if (item->retried > 0)
        spdlog::info("OTLP: delivered to {} after {} failed attempt{}", config_.url,
                     item->retried, item->retried == 1 ? "" : "s");
      spdlog::debug("OTLP: snapshot {} delivered", item->seq);
    }
    queue_.pop_front();  // the item in flight is never dropped: still the front
    publish_queue_length();
  }
}

OtlpExporter::Outcome OtlpExporter::send(HttpClient& client, Item& item,
                                         std::chrono::milliseconds& retry_in) {
  if (!item.bodies) {
    auto encoding =
        config_.protocol == OtlpProtocol::http_json ? OtlpEncoding::json : OtlpEncoding::protobuf;
    std::vector<std::string> bodies;
    for (std::string& body : encode_otlp(*item.batch, resource_, encoding, config_.max_request_size)) {
      if (body.size() > config_.max_request_size) {
        // The specification: a request over the limit is not made.
        spdlog::error("OTLP: a request of {} bytes (one data point) is over --otlp-max-request-size "
                      "{}; not sent", body.size(), config_.max_request_size);
        item.lost = OtlpFailure::too_large;
        continue;
      }
      bodies.push_back(config_.gzip ? gzip_compress(body) : std::move(body));
      std::string().swap(body);  // its compressed copy is kept, not both
    }
    item.bodies = std::move(bodies);
    item.batch.reset();  // the snapshots can go
  }

  for (; item.next < item.bodies->size(); ++item.next) {
    const std::string& body = (*item.bodies)[item.next];
    HttpResponse res = client.post(config_.url, body, header_lines_);
    if (res.status != 0) self_.otlp_sent_bytes(body.size());

    if (res.status >= 200 && res.status < 300 && !res.body_truncated) {
      OtlpResponseInfo info = parse_otlp_success(res.content_type, res.body);
      if (info.rejected_points > 0) {
        spdlog::warn("OTLP: {} rejected {} data point{}: {}", config_.url, info.rejected_points,
                     info.rejected_points == 1 ? "" : "s", info.message);
        self_.otlp_rejected_points(static_cast<std::uint64_t>(info.rejected_points));
      } else if (!info.message.empty()) {
        spdlog::warn("OTLP: {} accepted the data with a warning: {}", config_.url, info.message);
      }
      item.retried += item.attempts;
      item.attempts = 0;
      continue;
    }

    if (res.status == 0 || (retryable_status(res.status) && !res.body_truncated)) {
      ++item.attempts;
      std::string why = res.status == 0 ? res.error
                                        : "HTTP " + std::to_string(res.status) + ": " +
                                              otlp_error_message(res.content_type, res.body);
      std::optional<std::chrono::seconds> after;
      if (res.status != 0 && !res.retry_after.empty())
        after = parse_retry_after(res.retry_after, now_ms() / 1000);
      retry_in = after ? std::chrono::milliseconds(*after) : backoff(item.attempts);
      item.error = std::move(why);
      item.retry_after = after.has_value();
      return Outcome::retry;
    }

    // Any other answer is permanent: the same request would fail again.
    std::string message = res.body_truncated
                              ? "the response is larger than 4 MiB"
                              : otlp_error_message(res.content_type, res.body);
    spdlog::error("OTLP: POST {}: HTTP {}: {}; not retried", config_.url, res.status,
                  message.empty() ? "(no message)" : message);
    item.lost = OtlpFailure::rejected;
    item.retried += item.attempts;
    item.attempts = 0;
  }
  return item.lost ? Outcome::rejected : Outcome::delivered;
}

}  // namespace kv::promfmt

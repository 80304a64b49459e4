#include "kv-watch/informer.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <unordered_map>

#include "clock.hpp"
#include "sample_writer.hpp"

namespace kv::watch {
namespace {

constexpr std::chrono::seconds kMaxRetryAfter{300};

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

double jitter_factor() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(1.0, 2.0)(rng);
}

std::int64_t status_code(simdjson::dom::element status) {
  std::int64_t code = 0;
  if (status["code"].get(code) != simdjson::SUCCESS) return 0;
  return code;
}

std::string status_message(simdjson::dom::element status) {
  std::string_view m;
  if (status["message"].get(m) != simdjson::SUCCESS) return "(no message)";
  return std::string(m);
}

}  // namespace

void StopSignal::request() {
  {
    std::lock_guard lock(mu_);
    flag_ = true;
  }
  cv_.notify_all();
}

bool StopSignal::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return flag_.load(); });
}

std::string_view restart_reason_name(RestartReason r) {
  switch (r) {
#define X(name, why) \
  case RestartReason::name: return #name;
    KV_WATCH_RESTART_REASONS(X)
#undef X
  }
  return "";
}

Informer::Informer(ResourceType type, InformerSettings settings, const KubeAccess& access,
                   std::shared_ptr<BearerToken> token, FieldSelection fields, ChangeHandler on_change,
                   bool want_objects, StopSignal& stop, std::shared_ptr<UpdateObserver> observer)
    : type_(std::move(type)),
      settings_(std::move(settings)),
      ns_(type_.namespaced ? settings_.ns : std::string()),
      name_(ns_.empty() ? type_.id() : type_.id() + " in namespace " + ns_),
      access_(access),
      token_(std::move(token)),
      cache_(std::move(fields), std::move(observer)),
      on_change_(std::move(on_change)),
      want_objects_(want_objects),
      stop_(stop) {}

Informer::~Informer() { join(); }

void Informer::start() {
  thread_ = std::thread([this] { run(); });
}

void Informer::join() {
  if (thread_.joinable()) thread_.join();
}

void Informer::contact() { stats_.last_contact_ms.store(now_ms()); }

bool Informer::in_shard(simdjson::dom::element object) const {
  if (settings_.sharding.total <= 1) return true;
  std::string_view uid;
  if (object["metadata"]["uid"].get(uid) != simdjson::SUCCESS) uid = {};
  return settings_.sharding.keeps(uid);
}

std::chrono::milliseconds Informer::next_backoff() {
  auto base = settings_.backoff_initial * (1LL << std::min(attempt_, 16u));
  ++attempt_;
  auto capped = std::min<std::chrono::milliseconds>(base, settings_.backoff_max);
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped.count() * jitter_factor() / 2 + capped.count() / 2));
}

std::string Informer::query(bool watch, const std::string& continue_token) const {
  std::string q = type_.collection_path(ns_);
  char sep = '?';
  auto add = [&](std::string_view key, std::string_view value) {
    q += sep;
    sep = '&';
    q.append(key).append("=").append(percent_encode(value));
  };
  if (!settings_.label_selector.empty()) add("labelSelector", settings_.label_selector);
  if (!settings_.field_selector.empty()) add("fieldSelector", settings_.field_selector);
  if (watch) {
    add("watch", "1");
    add("allowWatchBookmarks", "true");
    add("resourceVersion", resource_version_);
    // Spread the reconnects of many informers and replicas, as client-go does.
    auto timeout = static_cast<std::int64_t>(settings_.watch_timeout.count() * jitter_factor());
    add("timeoutSeconds", std::to_string(timeout));
  } else {
    add("limit", std::to_string(settings_.page_size));
    if (!continue_token.empty()) add("continue", continue_token);
  }
  return q;
}

// The object as kubectl's watch output shows it: a list's items come
// without kind and apiVersion (the server leaves them out of typed lists),
// so they are put back, first, as the server writes them.
std::string Informer::object_json(simdjson::dom::element object) const {
  std::string json = simdjson::minify(object);
  if (!type_.kind.empty() && object["kind"].error() != simdjson::SUCCESS && json.size() >= 2 &&
      json.front() == '{') {
    std::string head = "{\"kind\":";
    append_json_string(head, type_.kind);
    head += ",\"apiVersion\":";
    append_json_string(head, type_.api_version());
    json.replace(0, 1, json.size() > 2 ? head + "," : head);
  }
  return json;
}

void Informer::emit(EventType event, simdjson::dom::element object) {
  if (!on_change_) return;
  if (want_objects_) {
    on_change_(type_, event, object_json(object));
  } else {
    std::lock_guard lock(cache_.mutex());
    const CachedObject* cached = cache_.find(object_key(object));
    on_change_(type_, event, cached ? std::string_view(cached->fields) : std::string_view("{}"));
  }
}

RestartReason Informer::classify_failure(const KubeResponse& r, std::chrono::milliseconds& wait) {
  RestartReason reason = RestartReason::other_status;
  if (r.status == 0 || (r.status == 200 && !r.error.empty()))
    reason = r.timed_out ? RestartReason::hung : RestartReason::broken;
  else if (r.status == 410)
    reason = RestartReason::expired;
  else if (r.status == 429)
    reason = RestartReason::throttled;
  else if (r.status >= 500)
    reason = RestartReason::server_error;
  else if (r.status == 401)
    reason = RestartReason::unauthorized;
  else if (r.status == 403)
    reason = RestartReason::forbidden;
  if (reason == RestartReason::unauthorized) token_->invalidate();
  wait = next_backoff();
  if (r.retry_after && (reason == RestartReason::throttled || reason == RestartReason::server_error))
    wait = std::min<std::chrono::milliseconds>(*r.retry_after, kMaxRetryAfter);
  std::string message = name_ + ": " + describe_failure(r);
  if (reason == RestartReason::expired) {
    spdlog::info("{}; relisting", message);
  } else if (settings_.list_only) {
    spdlog::error("{}", message);  // --once does not retry
  } else if (message != last_error_) {
    // Each distinct failure once; a long outage does not flood the log.
    spdlog::warn("{}; retrying in {} ms", message, wait.count());
    last_error_ = message;
  }
  return reason;
}

Informer::ListResult Informer::list(std::chrono::milliseconds& wait) {
  std::unordered_map<std::string, bool> present;
  std::string continue_token;
  std::string list_rv;
  for (;;) {
    KubeResponse r = session_->get(query(false, continue_token), settings_.limits, stop_.flag());
    if (r.stopped) return ListResult::stopped;
    if (r.status == 410 && !continue_token.empty()) {
      // The continue token expired (the server compacted): start over.
      spdlog::info("{}: the list's continue token expired; listing again from the start", name_);
      present.clear();
      continue_token.clear();
      continue;
    }
    if (r.status != 200 || !r.error.empty()) {
      classify_failure(r, wait);
      ++stats_.list_failures;
      return ListResult::retry_later;
    }
    contact();
    simdjson::dom::element doc;
    simdjson::dom::array items;
    if (parser_.parse(r.body).get(doc) != simdjson::SUCCESS || doc["items"].get(items) != simdjson::SUCCESS) {
      spdlog::warn("{}: the LIST answer is not a Kubernetes list (starts with \"{}\")", name_,
                   r.body.substr(0, 60));
      ++stats_.list_failures;
      wait = next_backoff();
      return ListResult::retry_later;
    }
    for (auto item : items) {
      std::string key = object_key(item);
      if (key.empty() || !in_shard(item)) continue;
      present[key] = true;
      if (auto event = cache_.upsert(item)) emit(*event, item);
    }
    std::string_view rv, next;
    if (doc["metadata"]["resourceVersion"].get(rv) == simdjson::SUCCESS) list_rv = rv;
    if (doc["metadata"]["continue"].get(next) != simdjson::SUCCESS || next.empty()) break;
    continue_token = next;
  }
  // What the cache has and the list lacks was deleted while we were not watching.
  for (const auto& key : cache_.missing_from(present)) {
    auto fields = cache_.erase(key);
    if (on_change_ && fields) on_change_(type_, EventType::deleted, *fields);
  }
  resource_version_ = list_rv;
  // A page of 500 objects grew the parser to megabytes; watch events are
  // one object each, so give that memory back.
  parser_ = simdjson::dom::parser();
  if (stats_.lists++ > 0) ++stats_.relists;
  last_error_.clear();
  attempt_ = 0;
  return ListResult::ok;
}

bool Informer::handle_event(std::string_view line, RestartReason& end) {
  contact();
  simdjson::dom::element doc, object;
  std::string_view type;
  if (parser_.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS ||
      doc["type"].get(type) != simdjson::SUCCESS || doc["object"].get(object) != simdjson::SUCCESS) {
    spdlog::warn("{}: malformed watch event (\"{}\"); watching again from resourceVersion {}",
                 name_, line.substr(0, 60), resource_version_);
    end = RestartReason::malformed;
    return false;
  }
  if (type == "BOOKMARK") {
    ++stats_.events[3];
    if (auto rv = object_resource_version(object); !rv.empty()) resource_version_ = rv;
    return true;
  }
  if (type == "ERROR") {
    ++stats_.events[4];
    auto code = status_code(object);
    if (code == 410) {
      spdlog::info("{}: {} (410); relisting", name_, status_message(object));
      end = RestartReason::expired;
    } else {
      spdlog::warn("{}: watch error {}: {}", name_, code, status_message(object));
      end = RestartReason::error_event;
    }
    return false;
  }
  auto event = parse_event_type(type);
  std::string key = event ? object_key(object) : std::string();
  if (!event || key.empty()) {
    spdlog::warn("{}: unexpected watch event type \"{}\" or object without a name; watching again",
                 name_, type);
    end = RestartReason::malformed;
    return false;
  }
  ++stats_.events[static_cast<std::size_t>(*event)];
  if (auto rv = object_resource_version(object); !rv.empty()) resource_version_ = rv;
  if (!in_shard(object)) return true;  // another replica's object (uids never change)
  if (*event == EventType::deleted) {
    if (on_change_ && want_objects_) on_change_(type_, EventType::deleted, object_json(object));
    auto fields = cache_.erase(key);
    if (on_change_ && !want_objects_ && fields) on_change_(type_, EventType::deleted, *fields);
    return true;
  }
  // A MODIFIED for an object we never saw is an ADDED for our cache.
  if (auto change = cache_.upsert(object)) emit(*change, object);
  return true;
}

RestartReason Informer::watch() {
  RestartReason end = RestartReason::timeout;
  bool ended_by_event = false;
  KubeRequestLimits limits = settings_.limits;
  // The server ends the watch after timeoutSeconds (at most 2x the setting);
  // past that plus the request timeout the connection is considered hung.
  limits.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.watch_timeout * 2) +
                         settings_.limits.response_timeout;
  bool got_event = false;
  KubeResponse r = session_->stream(
      query(true, {}), limits,
      [&](std::string_view line) {
        if (!handle_event(line, end)) {
          ended_by_event = true;
          return false;
        }
        if (!got_event) {
          got_event = true;
          attempt_ = 0;
          last_error_.clear();
        }
        return true;
      },
      stop_.flag());
  if (r.stopped || ended_by_event) return end;
  if (r.status == 200 && r.error.empty()) {
    contact();
    return RestartReason::timeout;
  }
  std::chrono::milliseconds wait{0};
  end = classify_failure(r, wait);
  if (end != RestartReason::expired) stop_.wait_for(wait);
  return end;
}

void Informer::run() {
  session_ = std::make_unique<KubeSession>(access_, token_);
  bool need_list = true;
  while (!stop_.requested()) {
    if (need_list) {
      std::chrono::milliseconds wait{0};
      auto result = list(wait);
      if (result == ListResult::stopped) break;
      if (result == ListResult::retry_later) {
        if (settings_.list_only) {
          failed_ = true;
          break;
        }
        stop_.wait_for(wait);
        continue;
      }
      stats_.synced = true;
      need_list = false;
      if (settings_.list_only) break;
    }
    RestartReason end = watch();
    if (stop_.requested()) break;
    ++stats_.restarts[static_cast<std::size_t>(end)];
    if (end == RestartReason::expired) need_list = true;
    else if (end == RestartReason::malformed || end == RestartReason::error_event)
      stop_.wait_for(next_backoff());
  }
  finished_ = true;
}

}  // namespace kv::watch

#include "kube_client.hpp"

#include "clock.hpp"
#include "http_client.hpp"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <simdjson.h>
#include <sstream>

namespace kv {
namespace {

using Clock = std::chrono::steady_clock;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { http_client_global_init(); });
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

BearerToken::BearerToken(const KubeAccess& access) : file_(access.token_file), token_(access.token) {}

void BearerToken::load_locked() {
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return;  // keep the last token; the server will say 401
  std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (!stale_ && mtime == seen_mtime_ns_ && st.st_size == seen_size_) return;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  std::ostringstream s;
  s << in.rdbuf();
  token_ = trimmed(s.str());
  seen_mtime_ns_ = mtime;
  seen_size_ = st.st_size;
  stale_ = false;
}

std::string BearerToken::current() {
  std::lock_guard lock(mu_);
  if (!file_.empty()) load_locked();
  return token_;
}

void BearerToken::invalidate() {
  std::lock_guard lock(mu_);
  stale_ = true;
}

struct KubeSession::Transfer {
  KubeResponse response;
  const KubeLineHandler* on_line = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::string pending;  // an incomplete line of a stream
  bool ended_by_handler = false;
  bool streaming_body = false;
  bool got_headers = false;
  Clock::time_point start = Clock::now();
  Clock::time_point last_byte = start;
  std::chrono::milliseconds response_timeout{0};
  bool idle_timed_out = false;
};

KubeSession::KubeSession(const KubeAccess& access, std::shared_ptr<BearerToken> token)
    : access_(access), token_(std::move(token)) {
  global_init();
  curl_ = curl_easy_init();
  if (!curl_) throw std::runtime_error("cannot initialise libcurl");
}

KubeSession::~KubeSession() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

KubeResponse KubeSession::get(const std::string& path, const KubeRequestLimits& limits,
                              const std::atomic<bool>* stop) {
  return perform(path, limits, nullptr, stop);
}

KubeResponse KubeSession::stream(const std::string& path, const KubeRequestLimits& limits,
                                 const KubeLineHandler& on_line, const std::atomic<bool>* stop) {
  return perform(path, limits, &on_line, stop);
}

namespace {

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<KubeSession::Transfer*>(user);
  std::string_view line(data, size * n);
  t->last_byte = Clock::now();
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = trimmed(std::string(line.substr(colon + 1)));
    if (name == "retry-after") {
      t->response.retry_after = parse_retry_after(value, now_ms() / 1000);
    } else if (name == "content-type") {
      t->response.content_type = value;
    }
  } else if (line == "\r\n" || line == "\n") {
    t->got_headers = true;
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<KubeSession::Transfer*>(user);
  std::string_view chunk(data, size * n);
  t->last_byte = Clock::now();
  if (!t->streaming_body) {
    t->response.body.append(chunk);
    return chunk.size();
  }
  // Lines may span chunks; only complete lines reach the handler, and the
  // common case (a chunk of whole lines) is handled without copying.
  std::size_t pos = 0;
  if (!t->pending.empty()) {
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      t->pending.append(chunk);
      return chunk.size();
    }
    t->pending.append(chunk.substr(0, nl));
    if (!(*t->on_line)(t->pending)) {
      t->ended_by_handler = true;
      return 0;
    }
    t->pending.clear();
    pos = nl + 1;
  }
  while (pos < chunk.size()) {
    auto nl = chunk.find('\n', pos);
    if (nl == std::string_view::npos) {
      t->pending.assign(chunk.substr(pos));
      break;
    }
    if (nl > pos && !(*t->on_line)(chunk.substr(pos, nl - pos))) {
      t->ended_by_handler = true;
      return 0;
    }
    pos = nl + 1;
  }
  return chunk.size();
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<KubeSession::Transfer*>(user);
  if (t->stop && t->stop->load(std::memory_order_relaxed)) return 1;
  // Before the headers, and between reads of a whole response, silence
  // longer than the response timeout is a hung server. A watch may be
  // silent for long; its total timeout bounds it instead.
  bool idle_matters = !t->got_headers || !t->streaming_body;
  if (idle_matters && t->response_timeout.count() > 0 &&
      Clock::now() - t->last_byte > t->response_timeout) {
    t->idle_timed_out = true;
    return 1;
  }
  return 0;
}

}  // namespace

KubeResponse KubeSession::perform(const std::string& path, const KubeRequestLimits& limits,
                                  const KubeLineHandler* on_line, const std::atomic<bool>* stop) {
  auto* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  Transfer t;
  t.on_line = on_line;
  t.stop = stop;
  t.response_timeout = limits.response_timeout;
  std::string url = access_.server + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kv-watch/" KV_VERSION);
  char error_detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_detail);

  // TLS: verified unless the kubeconfig explicitly says otherwise.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, access_.insecure_skip_tls_verify ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, access_.insecure_skip_tls_verify ? 0L : 2L);
  curl_blob ca_blob{}, cert_blob{}, key_blob{};
  if (!access_.ca_data.empty()) {
    ca_blob = {const_cast<char*>(access_.ca_data.data()), access_.ca_data.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca_blob);
  } else if (!access_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, access_.ca_file.c_str());
  }
  if (!access_.client_cert_data.empty()) {
    cert_blob = {const_cast<char*>(access_.client_cert_data.data()), access_.client_cert_data.size(),
                 CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert_blob);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!access_.client_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, access_.client_cert_file.c_str());
  }
  if (!access_.client_key_data.empty()) {
    key_blob = {const_cast<char*>(access_.client_key_data.data()), access_.client_key_data.size(),
                CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key_blob);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!access_.client_key_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, access_.client_key_file.c_str());
  }

  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::string auth;
  if (std::string token = token_->current(); !token.empty()) {
    auth = "Authorization: Bearer " + token;
    headers = curl_slist_append(headers, auth.c_str());
  } else if (!access_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, access_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, access_.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  // A stream hands lines to the handler only when the answer is a 200;
  // anything else (a Status object) is kept whole for the caller.
  KubeLineHandler gate;
  long code = -1;  // asked of libcurl once, at the first line
  if (on_line) {
    gate = [&](std::string_view line) {
      if (code < 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
      if (code != 200) {
        t.response.body.append(line).append("\n");
        return true;
      }
      return (*on_line)(line);
    };
    t.on_line = &gate;
    t.streaming_body = true;
  }

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  // The header list held the token; do not leave it in freed memory longer than needed.
  std::fill(auth.begin(), auth.end(), '\0');
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (on_line && t.response.status == 200 && !t.pending.empty() && rc == CURLE_OK) {
    gate(t.pending);  // a last line without its newline
  } else if (on_line && t.response.status != 200) {
    t.response.body += t.pending;
  }
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t.ended_by_handler)) return std::move(t.response);
  if (rc == CURLE_ABORTED_BY_CALLBACK && stop && stop->load()) {
    t.response.stopped = true;
    return std::move(t.response);
  }
  if (rc == CURLE_OPERATION_TIMEDOUT || t.idle_timed_out) t.response.timed_out = true;
  if (t.idle_timed_out)
    t.response.error = "no answer from " + access_.server + " within " +
                       std::to_string(limits.response_timeout.count()) + " ms";
  else
    t.response.error = (error_detail[0] ? std::string(error_detail) : std::string(curl_easy_strerror(rc))) +
                       " (" + access_.server + ")";
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CONNECT_ERROR:
      t.response.tls_failure = true;
      break;
    default:
      break;
  }
  if (!t.got_headers) t.response.status = 0;  // no response at all
  return std::move(t.response);
}

std::string describe_failure(const KubeResponse& r) {
  if (r.status == 0) return r.error;
  std::string text = "HTTP " + std::to_string(r.status);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc) == simdjson::SUCCESS) {
    std::string_view kind, message;
    if (doc["kind"].get(kind) == simdjson::SUCCESS && kind == "Status" &&
        doc["message"].get(message) == simdjson::SUCCESS)
      return text + ": " + std::string(message);
  }
  std::string start = r.body.substr(0, 120);
  for (auto& ch : start)
    if (ch == '\n' || ch == '\r') ch = ' ';
  if (!start.empty()) text += ": " + start;
  return text;
}

}  // namespace kv

#include "http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace kv {

namespace {

struct Exchange {
  HttpResponse* response;
  std::size_t max_body;
};

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

std::string header_value(std::string_view line, std::size_t name_size) {
  std::string_view v = line.substr(name_size + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return std::string(v);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  // A status line starts the headers of a new response (after a 100
  // Continue, say): only the last response's headers count.
  if (line.starts_with("HTTP/")) {
    ex->response->content_type.clear();
    ex->response->retry_after.clear();
  } else if (header_is(line, "content-type")) {
    ex->response->content_type = header_value(line, 12);
  } else if (header_is(line, "retry-after")) {
    ex->response->retry_after = header_value(line, 11);
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::size_t n = size * count;
  if (ex->response->body.size() + n > ex->max_body) {
    ex->response->body_truncated = true;
    return 0;  // aborts the transfer: the body is not worth reading
  }
  ex->response->body.append(data, n);
  return n;
}

CURL* handle(void* p) { return static_cast<CURL*>(p); }

}  // namespace

void http_client_global_init() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("cannot initialize libcurl");
}

std::string libcurl_version() { return curl_version_info(CURLVERSION_NOW)->version; }

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), curl_(curl_easy_init()) {
  if (!curl_) throw std::runtime_error("cannot create a libcurl handle");
  CURL* c = handle(curl_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.client_certificate.empty())
    curl_easy_setopt(c, CURLOPT_SSLCERT, options_.client_certificate.c_str());
  if (!options_.client_key.empty())
    curl_easy_setopt(c, CURLOPT_SSLKEY, options_.client_key.c_str());
  if (!options_.user_agent.empty())
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
}

HttpClient::~HttpClient() { curl_easy_cleanup(handle(curl_)); }

HttpResponse HttpClient::post(const std::string& url, std::string_view body,
                              const std::vector<std::string>& headers) {
  HttpResponse response;
  Exchange ex{&response, options_.max_response_size};
  CURL* c = handle(curl_);

  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  // No "Expect: 100-continue" round trip before large bodies.
  list = curl_slist_append(list, "Expect:");

  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);

  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && response.body_truncated)) {
    response.status = status;
  } else {
    response.status = 0;
    response.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    response.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  }
  return response;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_s) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t s = 0;
    auto res = std::from_chars(value.data(), value.data() + value.size(), s);
    if (res.ec != std::errc()) s = INT64_MAX / 2;  // absurdly large: the caller caps it
    return std::chrono::seconds(s);
  }
  // curl_getdate reads the three date formats HTTP allows.
  std::string text(value);
  time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return std::chrono::seconds(std::max<std::int64_t>(0, static_cast<std::int64_t>(when) - now_s));
}

}  // namespace kv

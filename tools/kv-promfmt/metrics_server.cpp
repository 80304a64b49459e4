#include "metrics_server.hpp"

#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include "clock.hpp"
#include "content_negotiation.hpp"
#include "duration.hpp"
#include "logging.hpp"

namespace kv::promfmt {

namespace {
constexpr std::size_t kServerThreads = 32;

// The paths route() serves, each to GET and HEAD only.
constexpr std::string_view kPaths[] = {"/metrics", "/healthz", "/readyz", "/"};

// Binds `server` to `host` (every address when empty: IPv6 and IPv4 if the
// host has IPv6, else IPv4); returns the port, or -1.
int bind_server(httplib::Server& server, const std::string& host, int port) {
  for (const char* any : {"::", "0.0.0.0"}) {
    const std::string& h = host.empty() ? std::string(any) : host;
    if (port == 0) {
      int bound = server.bind_to_any_port(h);
      if (bound >= 0) return bound;
    } else if (server.bind_to_port(h, port)) {
      return port;
    }
    if (!host.empty()) break;
  }
  return -1;
}
}  // namespace

std::optional<ListenAddress> parse_listen_address(const std::string& text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return std::nullopt;  // IPv6 needs brackets
  // An empty host means every address; bind() tries IPv6 and IPv4 both.
  int port = -1;
  auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || res.ec != std::errc() || res.ptr != port_text.data() + port_text.size() ||
      port < 0 || port > 65535)
    return std::nullopt;
  return ListenAddress{host, port};
}

MetricsServer::MetricsServer(const Publisher& publisher, std::chrono::milliseconds stale_after)
    : publisher_(publisher), stale_after_(stale_after) {}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::route(httplib::Server& server) {
  // Any other method is answered here, before the library reads a body: our
  // paths say 405 and which methods they allow, the others 404. (The library
  // would otherwise read a body of any size into memory, wait for the read
  // timeout on a POST without Content-Length, and answer 400 or 404.)
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD")
      return httplib::Server::HandlerResponse::Unhandled;
    if (std::find(std::begin(kPaths), std::end(kPaths), req.path) != std::end(kPaths)) {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("405 method not allowed\n", "text/plain; charset=utf-8");
    } else {
      res.status = 404;
    }
    // A body left unread would be taken for the next request: the client
    // must not send one on this connection.
    std::string length = req.get_header_value("Content-Length");
    bool body = req.has_header("Transfer-Encoding") || (!length.empty() && length != "0");
    if (body && req.get_header_value("Connection") != "close")
      res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto expo = publisher_.current();
    if (!expo) {
      res.status = 503;
      res.set_content("no complete snapshot has arrived yet\n", "text/plain; charset=utf-8");
      return;
    }
    Negotiated neg = negotiate_format(req.get_header_value("Accept"));
    bool gzip = accepts_gzip(req.get_header_value("Accept-Encoding"));
    std::shared_ptr<const std::string> body = expo->body(neg.format, gzip);
    if (gzip) res.set_header("Content-Encoding", "gzip");
    res.set_header("Vary", "Accept, Accept-Encoding");
    // A provider with a known length is sent as is: no copy of the body and
    // no compression by the library on top of ours.
    res.set_content_provider(
        body->size(), neg.content_type,
        [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          return sink.write(body->data() + offset, length);
        });
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto expo = publisher_.current();
    if (!expo) {
      res.status = 503;
      res.set_content("not ready: no complete snapshot has arrived yet\n",
                      "text/plain; charset=utf-8");
      return;
    }
    auto age = std::chrono::milliseconds(now_ms() - expo->published_ms());
    if (stale_after_.count() > 0 && age > stale_after_) {
      res.status = 503;
      res.set_content("not ready: the last snapshot is " + format_duration(age) +
                          " old (--stale-after " + format_duration(stale_after_) + ")\n",
                      "text/plain; charset=utf-8");
      return;
    }
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "<html><head><title>kv-promfmt</title></head><body><h1>kv-promfmt</h1>"
        "<p><a href=\"/metrics\">Metrics</a> &middot; <a href=\"/healthz\">Health</a> &middot; "
        "<a href=\"/readyz\">Readiness</a></p></body></html>\n",
        "text/html; charset=utf-8");
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content("404 page not found\n", "text/plain; charset=utf-8");
  });
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle
  // and delayed ACKs add ~40 ms to every scrape.
  server.set_tcp_nodelay(true);
  // The library's default also sets SO_REUSEPORT, which would let a second
  // process bind our port and silently take half the scrapes.
  server.set_socket_options([](int sock) {
    int yes = 1, no = 0;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // On "::", take IPv4 too (fails harmlessly on an IPv4 socket).
    ::setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
  });
  // Each connection holds a thread while it lives: many threads, and idle
  // keep-alive connections let go soon, so scrapers never wait for a slot.
  server.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  server.set_keep_alive_max_count(100);
  server.set_keep_alive_timeout(5);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(30, 0);
}

void MetricsServer::bind(const std::vector<std::string>& addresses) {
  for (const std::string& text : addresses) {
    auto addr = parse_listen_address(text);
    if (!addr) throw std::runtime_error("invalid --listen address \"" + text + "\"");
    auto server = std::make_unique<httplib::Server>();
    route(*server);
    int port = bind_server(*server, addr->host, addr->port);
    if (port < 0)
      throw std::runtime_error("cannot listen on " + text +
                               " (address in use, or not an address of this host)");
    bool v6 = addr->host.find(':') != std::string::npos;
    spdlog::info("listening on {}{}{}:{}", v6 ? "[" : "", addr->host, v6 ? "]" : "", port);
    servers_.push_back(std::move(server));
  }
}

void MetricsServer::start() {
  for (auto& server : servers_)
    threads_.emplace_back([s = server.get()] { s->listen_after_bind(); });
}

void MetricsServer::stop() {
  for (auto& server : servers_) server->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace kv::promfmt

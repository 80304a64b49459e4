// Serves the latest published exposition over HTTP: /metrics with content
// negotiation and gzip, /healthz, /readyz. A scrape never waits for input and
// never renders twice: it sends bytes the publisher already made.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "publisher.hpp"

namespace httplib {
class Server;
}

namespace kv::promfmt {

struct ListenAddress {
  std::string host;
  int port;
};

// Accepts ":8080", "127.0.0.1:8080", "[::1]:8080", "localhost:0" (0: any
// free port, which is logged). Returns nullopt on a malformed address.
std::optional<ListenAddress> parse_listen_address(const std::string& text);

class MetricsServer {
 public:
  MetricsServer(const Publisher& publisher, std::chrono::milliseconds stale_after);
  ~MetricsServer();

  // Binds every address or throws std::runtime_error naming the one that failed.
  void bind(const std::vector<std::string>& addresses);
  void start();
  void stop();

 private:
  void route(httplib::Server& server);

  const Publisher& publisher_;
  std::chrono::milliseconds stale_after_;
  std::vector<std::unique_ptr<httplib::Server>> servers_;
  std::vector<std::thread> threads_;
};

}  // namespace kv::promfmt

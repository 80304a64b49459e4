// kv-promfmt: turns the sample stream into Prometheus text or OpenMetrics,
// on stdout, as an atomically replaced textfile, or served over HTTP; and
// into OTLP, on stdout or pushed to an OpenTelemetry collector.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <simdjson.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cli.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "http_client.hpp"
#include "input_reader.hpp"
#include "logging.hpp"
#include "metrics_server.hpp"
#include "options.hpp"
#include "otlp_exporter.hpp"
#include "process.hpp"
#include "publisher.hpp"
#include "self_metrics.hpp"

using namespace kv;
using namespace kv::promfmt;

namespace {

constexpr const char* kTool = "kv-promfmt";
#define KV_STRINGIFY2(x) #x
#define KV_STRINGIFY(x) KV_STRINGIFY2(x)

std::string libraries() {
  return std::string("simdjson " KV_STRINGIFY(SIMDJSON_VERSION) ", cpp-httplib " CPPHTTPLIB_VERSION) +
         ", zlib " + zlibVersion() + ", spdlog " + std::to_string(SPDLOG_VER_MAJOR) + "." +
         std::to_string(SPDLOG_VER_MINOR) + "." + std::to_string(SPDLOG_VER_PATCH) +
         ", libcurl " + libcurl_version();
}

// The options that only mean something when serving HTTP.
constexpr const char* kListenOnlyOptions[] = {"--stale-after", "--keep-serving"};

// The options that only mean something when pushing over OTLP.
constexpr const char* kPushOnlyOptions[] = {
    "--otlp-protocol",    "--otlp-header",          "--otlp-compression",
    "--otlp-timeout",     "--otlp-certificate",     "--otlp-client-certificate",
    "--otlp-client-key",  "--otlp-queue-size",      "--otlp-max-request-size",
    "--otlp-retry-max-time"};

void setup_otlp_cli(CLI::App& app, OtlpFlags& f) {
  app.add_flag("--otlp", f.push,
               "Push each snapshot over OTLP/HTTP to the endpoint of the OTEL_EXPORTER_OTLP_* "
               "variables, else http://localhost:4318/v1/metrics");
  app.add_option("--otlp-endpoint", f.endpoint,
                 "Push each snapshot over OTLP/HTTP to URL, used as it is (implies --otlp)")
      ->type_name("URL");
  app.add_option("--otlp-protocol", f.protocol,
                 "OTLP encoding: http/protobuf (the default) or http/json")
      ->check(CLI::IsMember({"http/protobuf", "http/json"}))
      ->type_name("PROTOCOL");
  app.add_option("--otlp-header", f.headers,
                 "Send the HTTP header NAME=VALUE with OTLP requests (repeatable)")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
  app.add_option("--otlp-compression", f.compression,
                 "Compress OTLP requests: gzip (the default) or none")
      ->check(CLI::IsMember({"gzip", "none"}))
      ->type_name("ALGORITHM");
  app.add_option("--otlp-timeout", f.timeout,
                 "Give up an OTLP request after DURATION (default 10s; 0: no limit)")
      ->type_name("DURATION");
  app.add_option("--otlp-certificate", f.certificate,
                 "Trust the CA certificates in FILE (PEM) for an https endpoint")
      ->type_name("FILE");
  app.add_option("--otlp-client-certificate", f.client_certificate,
                 "Present the client certificate in FILE (PEM), for mutual TLS")
      ->type_name("FILE");
  app.add_option("--otlp-client-key", f.client_key, "The key of the client certificate (PEM)")
      ->type_name("FILE");
  app.add_option("--otlp-resource", f.resource,
                 "Add the resource attribute KEY=VALUE to OTLP data (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--otlp-queue-size", f.queue_size,
                 "Snapshots that may wait to be pushed; beyond, the oldest is dropped")
      ->type_name("N")
      ->default_str(std::to_string(f.queue_size))
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option("--otlp-max-request-size", f.max_request_size,
                 "Split a snapshot into OTLP requests of at most BYTES before compression")
      ->type_name("BYTES")
      ->default_str(std::to_string(f.max_request_size))
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
  app.add_option("--otlp-retry-max-time", f.retry_max_time,
                 "Give up on a snapshot DURATION after it was queued (0: do not retry)")
      ->type_name("DURATION")
      ->default_str(f.retry_max_time);
}

void setup_cli(CLI::App& app, Options& o, std::string& format, std::string& stale_after,
               OtlpFlags& otlp) {
  app.description(
      "Reads the KubeVirt monitoring sample stream (NDJSON) from stdin or the INPUT files and "
      "FIFOs, and writes it as Prometheus text or OpenMetrics: on stdout (the default), as an "
      "atomically replaced node_exporter textfile, or served over HTTP; or as OTLP, on stdout "
      "or pushed to an OpenTelemetry collector.");
  app.add_option("INPUT", o.inputs,
                 "Input files or FIFOs, each one source; '-' is stdin (the default)");
  app.add_option("-f,--format", format,
                 "Output format on stdout: prometheus, openmetrics or otlp-json")
      ->check(CLI::IsMember({"prometheus", "openmetrics", "otlp-json"}))
      ->default_str("prometheus");
  app.add_option("--textfile", o.textfile,
                 "Atomically replace PATH with each snapshot (Prometheus text, for "
                 "node_exporter's textfile collector)")
      ->type_name("PATH");
  app.add_option("--listen", o.listen,
                 "Serve /metrics, /healthz and /readyz on ADDR (host:port; repeatable)")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  app.add_option("--stale-after", stale_after,
                 "With --listen: /readyz fails when no snapshot arrived for this long (0: never)")
      ->type_name("DURATION")
      ->default_str("5m");
  app.add_flag("--keep-serving", o.keep_serving,
               "With --listen: keep serving the last snapshots after every input ended");
  app.add_flag("--timestamps", o.timestamps,
               "Write the samples' timestamps (never in --textfile: node_exporter refuses them)");
  app.add_flag("--strict", o.strict, "Stop with exit status 4 at the first invalid line");
  app.add_flag_callback("--self-metrics", [&o] { o.self_metrics = true; },
                        "Publish kv_promfmt_* metrics (the default with --listen)");
  app.add_flag_callback("--no-self-metrics", [&o] { o.self_metrics = false; },
                        "Do not publish kv_promfmt_* metrics");
  app.add_option("--max-line-size", o.max_line_size,
                 "Reject input lines longer than BYTES")
      ->type_name("BYTES")
      ->default_str(std::to_string(o.max_line_size))
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  setup_otlp_cli(app, otlp);
  app.add_option("--log-level", o.log_level, std::string("Log level: ") + kLogLevels)
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->default_str("info");
  app.set_version_flag("--version", [] { return version_string(kTool, libraries()); },
                       "Print the version and exit");
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.footer(
      "Exit status: 0 ok, 1 runtime failure (or input ended while serving), 2 usage error, "
      "3 some input lines were rejected, 4 an invalid line under --strict.\n"
      "See kv-promfmt(1) and kv-sample(5).\n");
}

// Why the textfile cannot be written, with what to do about it; nullopt when
// its directory is writable. Checked at start, so that a wrong path fails
// before any input is read rather than at the first snapshot.
std::optional<std::string> textfile_directory_problem(const std::string& textfile) {
  std::size_t slash = textfile.rfind('/');
  std::string dir =
      slash == std::string::npos ? "." : textfile.substr(0, std::max<std::size_t>(slash, 1));
  struct stat st {};
  int err;
  if (::stat(dir.c_str(), &st) != 0) err = errno;
  else if (!S_ISDIR(st.st_mode)) err = ENOTDIR;
  else if (::access(dir.c_str(), W_OK) != 0) err = errno;
  else return std::nullopt;
  std::string fix;
  switch (err) {
    case ENOENT: fix = "create it (mkdir -p " + dir + ")"; break;
    case EACCES:
    case EPERM: fix = "give uid " + std::to_string(::getuid()) + " write access to it"; break;
    case EROFS: fix = "use a directory on a writable file system"; break;
  }
  if (!fix.empty()) fix += ", or ";
  return "cannot write the textfile " + textfile + ": directory " + dir + ": " +
         std::strerror(err) + "; " + fix + "choose another --textfile";
}

// Wakes the main loop from reader threads.
void notify(int fd) {
  std::uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  protect_standard_fds();
  Options o;
  std::string format = "prometheus", stale_after = "5m";
  OtlpFlags otlp;
  CLI::App app{"", kTool};
  setup_cli(app, o, format, stale_after, otlp);
  if (auto code = parse_command_line(app, argc, argv)) return *code;

  o.format = format == "openmetrics" ? ExpositionFormat::openmetrics
                                     : ExpositionFormat::prometheus_text;
  o.otlp_json = format == "otlp-json";
  otlp.push = otlp.push || !otlp.endpoint.empty();
  for (const char* name : kPushOnlyOptions)
    if (!otlp.push && app.count(name) > 0)
      return usage_error(app, std::string(name) + " needs --otlp or --otlp-endpoint");
  if (!otlp.push && !o.otlp_json && !otlp.resource.empty())
    return usage_error(app, "--otlp-resource needs --otlp, --otlp-endpoint or --format otlp-json");
  if (otlp.push || o.otlp_json) {
    o.otlp = resolve_otlp_settings(otlp, [](const char* name) { return std::getenv(name); });
    if (!o.otlp.error.empty()) return usage_error(app, o.otlp.error);
  }
  for (const char* name : kListenOnlyOptions)
    if (o.listen.empty() && app.count(name) > 0)
      return usage_error(app, std::string(name) + " needs --listen");
  if (auto d = parse_duration(stale_after)) o.stale_after = *d;
  else return usage_error(app, "--stale-after: \"" + stale_after + "\" is not a duration (like 30s, 5m, 1h)");
  if (o.inputs.empty()) o.inputs.push_back("-");
  for (const auto& addr : o.listen)
    if (!parse_listen_address(addr))
      return usage_error(app, "--listen: \"" + addr +
                                  "\" is not an address (like :8080, 127.0.0.1:8080, [::1]:8080)");
  setup_logging(kTool, o.log_level);
  // A textfile that cannot be written is a problem of the machine, not of
  // the command line: a runtime failure, as when writing it fails later.
  if (!o.textfile.empty()) {
    if (auto problem = textfile_directory_problem(o.textfile)) {
      spdlog::error("{}", *problem);
      return kExitFailure;
    }
  }
  if (!o.textfile.empty() && !o.textfile.ends_with(".prom"))
    spdlog::warn("--textfile {} does not end in .prom: node_exporter only reads *.prom files",
                 o.textfile);
  if (!o.textfile.empty() && o.timestamps && o.listen.empty())
    spdlog::warn("--timestamps has no effect on --textfile: node_exporter refuses timestamps");
  for (const auto& warning : o.otlp.warnings) spdlog::warn("{}", warning);

  int signal_fd = termination_signal_fd();
  int stop_fd = ::eventfd(0, EFD_CLOEXEC);
  int done_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (signal_fd < 0 || stop_fd < 0 || done_fd < 0) {
    spdlog::error("cannot set up signal handling: {}", std::strerror(errno));
    return kExitFailure;
  }

  std::vector<std::string> names;
  for (const auto& in : o.inputs) names.push_back(input_name(in));
  SelfMetrics self(names, !o.textfile.empty(), o.otlp_push());
  std::unique_ptr<OtlpExporter> exporter;
  if (o.otlp_push()) {
    try {
      http_client_global_init();
      exporter = std::make_unique<OtlpExporter>(*o.otlp.exporter, o.otlp.resource, self,
                                                std::string(kTool) + "/" + KV_VERSION);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitFailure;
    }
    const OtlpExporterConfig& c = *o.otlp.exporter;
    spdlog::info("pushing each snapshot to {} over OTLP/HTTP ({}{})", c.url,
                 c.protocol == OtlpProtocol::http_json ? "JSON" : "protobuf",
                 c.gzip ? ", gzip" : "");
    exporter->start();
  }
  Publisher publisher(o, self, names, exporter.get());

  MetricsServer server(publisher, o.stale_after);
  if (!o.listen.empty()) {
    try {
      server.bind(o.listen);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitFailure;
    }
    server.start();
  }

  // Regular files are read one after the other, in argument order, so the
  // output does not depend on thread timing; pipes, FIFOs and stdin are
  // read side by side, as their data comes.
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < o.inputs.size(); ++i) {
    struct stat st {};
    if (o.inputs[i] != "-" && ::stat(o.inputs[i].c_str(), &st) == 0 && S_ISREG(st.st_mode))
      files.push_back(i);
    else
      groups.push_back({i});
  }
  if (!files.empty()) groups.insert(groups.begin(), files);

  std::mutex results_mu;
  std::vector<InputResult> results(o.inputs.size());
  std::size_t finished = 0;
  std::vector<std::thread> readers;
  for (const auto& group : groups) {
    readers.emplace_back([&, group] {
      for (std::size_t i : group) {
        InputReader reader(i, o.inputs[i], o, publisher, self, stop_fd);
        InputResult r = reader.run();
        std::lock_guard lock(results_mu);
        results[i] = r;
        ++finished;
        notify(done_fd);
        if (r.outcome != InputOutcome::ended && r.outcome != InputOutcome::read_error) break;
      }
    });
  }

  bool signalled = false, all_ended = false;
  for (bool running = true; running;) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {done_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    signalfd_siginfo info;
    if ((fds[0].revents & POLLIN) && ::read(signal_fd, &info, sizeof info) > 0) {
      spdlog::info("received {}, exiting", strsignal(static_cast<int>(info.ssi_signo)));
      signalled = true;
      break;
    }
    std::uint64_t n;
    if (!(fds[1].revents & POLLIN) || ::read(done_fd, &n, sizeof n) < 0) continue;
    std::lock_guard lock(results_mu);
    for (const auto& r : results)
      if (r.outcome == InputOutcome::strict_reject || r.outcome == InputOutcome::output_closed ||
          r.outcome == InputOutcome::output_failed)
        running = false;
    if (!running || finished < o.inputs.size() || all_ended) continue;
    all_ended = true;
    if (o.listen.empty()) {
      running = false;  // with --otlp, the queue is drained below
    } else if (!o.keep_serving) {
      spdlog::error("every input ended; exiting so that a supervisor restarts the pipeline "
                    "(--keep-serving keeps serving the last snapshots)");
      running = false;
    } else {
      spdlog::info("every input ended; serving the last snapshots until stopped");
    }
  }

  // Stop the readers and wait (bounded) for a publish in progress, so no
  // output is left half-written; then leave without waiting for HTTP
  // keep-alive connections or a reader stuck writing to a blocked stdout.
  notify(stop_fd);
  if (!publisher.close(std::chrono::seconds(5)))
    spdlog::warn("a snapshot was still being written after 5s; exiting anyway");

  // What is queued for the OTLP endpoint: a one-shot push waits for it,
  // retries included; a signal or a server whose input ended gives it
  // one last try of at most five seconds.
  bool otlp_undelivered = false;
  if (exporter) {
    auto quick_exit = [&] {
      exporter->stop_retrying();
      return exporter->drain(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    };
    bool delivered;
    if (signalled || !o.listen.empty()) {
      delivered = quick_exit();
    } else {
      // Retries may take long (--otlp-retry-max-time): a signal cuts them short.
      for (;;) {
        if (exporter->drain(std::chrono::steady_clock::now() + std::chrono::milliseconds(200))) {
          delivered = true;
          break;
        }
        pollfd fd = {signal_fd, POLLIN, 0};
        signalfd_siginfo info;
        if (::poll(&fd, 1, 0) > 0 && ::read(signal_fd, &info, sizeof info) > 0) {
          spdlog::info("received {} while pushing the last snapshots; exiting",
                       strsignal(static_cast<int>(info.ssi_signo)));
          signalled = true;
          delivered = quick_exit();
          break;
        }
        if (exporter->idle()) {
          delivered = false;
          break;
        }
      }
    }
    if (!delivered) {
      spdlog::error("OTLP: the last snapshot was not delivered to {}", o.otlp.exporter->url);
      otlp_undelivered = true;
    }
    OtlpCounts c = self.otlp_counts();
    std::uint64_t failed = 0;
    for (auto n : c.failed) failed += n;
    spdlog::info("OTLP: {} snapshots delivered, {} not delivered (rejected {}, retries exhausted "
                 "{}, too large {}), {} dropped from the queue, {} retries, {} bytes sent",
                 c.exported, failed, c.failed[0], c.failed[1], c.failed[2], c.dropped, c.retried,
                 c.sent_bytes);
  }

  int code = kExitOk;
  if (!signalled) {
    std::lock_guard lock(results_mu);
    bool output_closed = false, output_failed = false, read_error = false, strict = false;
    std::size_t rejected = 0;
    for (const auto& r : results) {
      output_closed |= r.outcome == InputOutcome::output_closed;
      output_failed |= r.outcome == InputOutcome::output_failed;
      read_error |= r.outcome == InputOutcome::read_error;
      strict |= r.outcome == InputOutcome::strict_reject;
      rejected += r.rejected;
    }
    if (output_closed) code = kExitOk;  // the reader of our stdout went away
    else if (output_failed || read_error || publisher.textfile_failed() || otlp_undelivered)
      code = kExitFailure;
    else if (strict) code = kExitInvalidInput;
    else if (!o.listen.empty() && all_ended) code = kExitFailure;
    else if (rejected > 0) {
      spdlog::warn("{} input line{} rejected", rejected, rejected == 1 ? " was" : "s were");
      code = kExitPartial;
    }
  }
  spdlog::default_logger()->flush();
  std::_Exit(code);
}

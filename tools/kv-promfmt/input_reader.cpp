#include "input_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "line_reader.hpp"
#include "logging.hpp"
#include "record_parser.hpp"
#include "snapshot.hpp"

namespace kv::promfmt {

std::string input_name(const std::string& path) { return path == "-" ? "stdin" : path; }

InputReader::InputReader(std::size_t index, std::string path, const Options& options,
                         Publisher& publisher, SelfMetrics& self, int stop_fd)
    : index_(index),
      path_(std::move(path)),
      name_(input_name(path_)),
      options_(options),
      publisher_(publisher),
      self_(self),
      stop_fd_(stop_fd) {}

int InputReader::open_input() {
  if (path_ == "-") return STDIN_FILENO;
  // Non-blocking open so a FIFO with no writer yet does not hang the open
  // itself; reads then wait in poll, with the stop fd, until data comes.
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st {};
  is_fifo_ = ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

// Returns false when the tool must stop (--strict).
bool InputReader::reject(std::uint64_t line, RejectReason reason, const std::string& message) {
  ++rejected_;
  self_.rejected(index_, reason);
  if (options_.strict) {
    spdlog::error("{}:{}: {} (--strict: stopping)", name_, line, message);
    return false;
  }
  spdlog::warn("{}:{}: {}; line skipped", name_, line, message);
  return true;
}

InputResult InputReader::run() {
  InputResult result;
  for (;;) {
    int fd = open_input();
    if (fd < 0) {
      spdlog::error("cannot open input {}: {}", path_, std::strerror(errno));
      result.outcome = InputOutcome::read_error;
      break;
    }
    result.outcome = read_stream(fd);
    if (fd != STDIN_FILENO) ::close(fd);
    if (result.outcome != InputOutcome::ended || !is_fifo_) break;
    spdlog::info("{}: the writer closed the FIFO; waiting for the next one", name_);
  }
  if (result.outcome == InputOutcome::ended) spdlog::debug("{}: end of input", name_);
  result.rejected = rejected_;
  return result;
}

InputOutcome InputReader::read_stream(int fd) {
  LineReader reader(fd, options_.max_line_size, stop_fd_);
  RecordParser parser;
  SnapshotBuilder builder;
  Line line;
  ReadStatus status;
  try {
    while ((status = reader.next(line)) == ReadStatus::line) {
      if (line.too_long) {
        if (!reject(line.number, RejectReason::line_too_long,
                    "line is longer than " + std::to_string(options_.max_line_size) +
                        " bytes (see --max-line-size)"))
          return InputOutcome::strict_reject;
        continue;
      }
      RecordKind kind = parser.parse(line.text, line.capacity);
      if (kind == RecordKind::sample) {
        if (auto r = builder.add(parser.sample()); r && !reject(line.number, r->reason, r->message))
          return InputOutcome::strict_reject;
      } else if (kind == RecordKind::end) {
        publisher_.publish(index_, builder.finish(std::string(parser.end().producer)));
      } else if (kind == RecordKind::rejected &&
                 !reject(line.number, parser.reject().reason, parser.reject().message)) {
        return InputOutcome::strict_reject;
      }
    }
    if (status == ReadStatus::stopped) return InputOutcome::stopped;
    if (status == ReadStatus::error) {
      spdlog::error("cannot read input {}: {}", path_, std::strerror(reader.error()));
      return InputOutcome::read_error;
    }
    if (!builder.empty()) {
      // The contract: stdout prints what no end record closed; the
      // stateful outputs never publish a snapshot that may be half.
      if (options_.to_stdout())
        publisher_.publish(index_, builder.finish());
      else
        spdlog::warn("{}: input ended with {} samples that no end record closed; not published",
                     name_, builder.size());
    }
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) return InputOutcome::output_closed;
    spdlog::error("cannot write to stdout: {}", e.what());
    return InputOutcome::output_failed;
  }
  return InputOutcome::ended;
}

}  // namespace kv::promfmt

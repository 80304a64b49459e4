// Reads one input (stdin, a file or a FIFO): lines become samples, samples
// become a snapshot, and each end record publishes it.
//
// A FIFO named as an argument never ends: when its writer closes it, the
// samples no end record closed are handled as at end of input, and the FIFO
// is opened again for the next writer (cron jobs writing one after another).
#pragma once

#include <cstddef>
#include <string>

#include "options.hpp"
#include "publisher.hpp"
#include "self_metrics.hpp"

namespace kv::promfmt {

enum class InputOutcome {
  ended,          // end of input reached
  stopped,        // asked to stop (signal)
  read_error,     // the input could not be opened or read
  strict_reject,  // --strict and a line was invalid
  output_closed,  // the reader of stdout went away (EPIPE)
  output_failed,  // stdout could not be written (ENOSPC, EBADF, EIO, ...)
};

struct InputResult {
  InputOutcome outcome = InputOutcome::ended;
  std::size_t rejected = 0;
};

class InputReader {
 public:
  InputReader(std::size_t index, std::string path, const Options& options, Publisher& publisher,
              SelfMetrics& self, int stop_fd);
  InputResult run();
  const std::string& name() const { return name_; }

 private:
  int open_input();
  bool reject(std::uint64_t line, RejectReason reason, const std::string& message);
  // Reads `fd` to its end; returns the outcome (`ended` at end of input).
  InputOutcome read_stream(int fd);

  std::size_t index_;
  std::string path_;
  std::string name_;  // the `input` label and the prefix of log lines
  const Options& options_;
  Publisher& publisher_;
  SelfMetrics& self_;
  int stop_fd_;
  bool is_fifo_ = false;
  std::size_t rejected_ = 0;
};

// "stdin" for "-", else the path as given.
std::string input_name(const std::string& path);

}  // namespace kv::promfmt

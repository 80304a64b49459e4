// Splits a byte stream into lines for the NDJSON reader.
//
// Each line handed out is followed by at least kLinePadding readable bytes in
// the same buffer, so simdjson can parse it in place without a copy. A line
// longer than the limit is dropped without being buffered whole and reported
// as too long, so one giant line cannot exhaust memory or stop the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace kv {

inline constexpr std::size_t kLinePadding = 64;  // >= SIMDJSON_PADDING

struct Line {
  std::string_view text;   // without the '\n' (empty when too_long)
  std::size_t capacity;    // readable bytes from text.data(): >= size + padding
  std::uint64_t number;    // 1-based
  bool too_long;           // the line exceeded the limit and was dropped
};

enum class ReadStatus { line, end_of_input, stopped, error };

class LineReader {
 public:
  // `stop_fd` (or -1): when it becomes readable, next() returns `stopped`.
  LineReader(int fd, std::size_t max_line_size, int stop_fd = -1);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  ReadStatus next(Line& line);
  int error() const { return errno_; }  // errno of a failed read
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  bool fill();  // reads more input; false at end of input, stop or error
  void grow();

  int fd_;
  int stop_fd_;
  std::size_t max_line_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;        // usable size; the allocation has kLinePadding more
  std::size_t begin_ = 0;  // start of the current line
  std::size_t scan_ = 0;   // where the search for '\n' goes on
  std::size_t end_ = 0;    // end of buffered data
  std::uint64_t line_no_ = 0;
  std::uint64_t bytes_read_ = 0;
  bool discarding_ = false;  // inside a line that is too long
  bool eof_ = false;
  bool stopped_ = false;
  int errno_ = 0;
};

}  // namespace kv

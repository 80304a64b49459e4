#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kv {

namespace {
constexpr std::size_t kInitialBuffer = 1 << 20;
}

LineReader::LineReader(int fd, std::size_t max_line_size, int stop_fd)
    : fd_(fd),
      stop_fd_(stop_fd),
      max_line_(max_line_size),
      cap_(std::min(kInitialBuffer, max_line_size + 1)) {
  buf_ = std::make_unique<char[]>(cap_ + kLinePadding);
}

LineReader::~LineReader() = default;

void LineReader::grow() {
  std::size_t new_cap = std::min(cap_ * 2, max_line_ + 1);
  auto bigger = std::make_unique<char[]>(new_cap + kLinePadding);
  std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  scan_ -= begin_;
  begin_ = 0;
  buf_ = std::move(bigger);
  cap_ = new_cap;
}

bool LineReader::fill() {
  if (eof_ || stopped_) return false;
  if (begin_ > 0 && (end_ == cap_ || begin_ >= cap_ / 2)) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) grow();
  for (;;) {
    if (stop_fd_ >= 0) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      int rc = ::poll(fds, 2, -1);
      if (rc < 0) {
        if (errno == EINTR) continue;
        errno_ = errno;
        return false;
      }
      if (fds[1].revents & POLLIN) {
        stopped_ = true;
        return false;
      }
    }
    ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      bytes_read_ += static_cast<std::uint64_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    errno_ = errno;
    return false;
  }
}

ReadStatus LineReader::next(Line& line) {
  for (;;) {
    char* base = buf_.get();
    if (auto* nl = static_cast<char*>(std::memchr(base + scan_, '\n', end_ - scan_))) {
      std::size_t pos = static_cast<std::size_t>(nl - base);
      ++line_no_;
      line.number = line_no_;
      line.too_long = discarding_;
      line.text = discarding_ ? std::string_view(base + pos, 0)
                              : std::string_view(base + begin_, pos - begin_);
      line.capacity = cap_ + kLinePadding - (line.text.data() - base);
      discarding_ = false;
      begin_ = scan_ = pos + 1;
      return ReadStatus::line;
    }
    scan_ = end_;
    if (!discarding_ && end_ - begin_ > max_line_) discarding_ = true;
    if (discarding_) begin_ = scan_ = end_ = 0;  // drop what we have of it
    if (!fill()) break;
  }
  if (stopped_) return ReadStatus::stopped;
  if (errno_ != 0) return ReadStatus::error;
  // End of input: a last line without '\n' still counts.
  if (discarding_ || end_ > begin_) {
    char* base = buf_.get();
    ++line_no_;
    line.number = line_no_;
    line.too_long = discarding_;
    line.text = discarding_ ? std::string_view(base, 0)
                            : std::string_view(base + begin_, end_ - begin_);
    line.capacity = cap_ + kLinePadding - (line.text.data() - base);
    discarding_ = false;
    begin_ = scan_ = end_;
    return ReadStatus::line;
  }
  return ReadStatus::end_of_input;
}

}  // namespace kv

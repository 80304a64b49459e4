#include "line_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace kv {
namespace {

struct Collected {
  std::vector<std::string> lines;
  std::vector<bool> too_long;
  std::vector<std::uint64_t> numbers;
};

// Feeds `input` through a pipe and collects every line.
Collected read_all(const std::string& input, std::size_t max_line) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(fds[1], input.data() + off, std::min<std::size_t>(4096, input.size() - off));
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  Collected c;
  LineReader reader(fds[0], max_line);
  Line line;
  while (reader.next(line) == ReadStatus::line) {
    EXPECT_GE(line.capacity, line.text.size() + kLinePadding);
    c.lines.emplace_back(line.text);
    c.too_long.push_back(line.too_long);
    c.numbers.push_back(line.number);
  }
  writer.join();
  ::close(fds[0]);
  return c;
}

TEST(LineReader, SplitsLinesAndKeepsAnUnterminatedLastOne) {
  auto c = read_all("a\nbb\n\nccc", 100);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"a", "bb", "", "ccc"}));
  EXPECT_EQ(c.numbers, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST(LineReader, DropsTooLongLinesAndGoesOn) {
  std::string big(10 << 20, 'x');  // 10 MiB
  auto c = read_all("first\n" + big + "\nlast\n", 1 << 20);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[0], "first");
  EXPECT_TRUE(c.too_long[1]);
  EXPECT_EQ(c.lines[1], "");
  EXPECT_EQ(c.lines[2], "last");
  EXPECT_EQ(c.numbers[2], 3u);
}

TEST(LineReader, TooLongLastLineWithoutNewline) {
  auto c = read_all("ok\n" + std::string(5000, 'y'), 1000);
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_TRUE(c.too_long[1]);
}

TEST(LineReader, LinesLongerThanTheInitialBufferButWithinTheLimit) {
  std::string long_line(3 << 20, 'z');
  auto c = read_all("a\n" + long_line + "\nb\n", 4 << 20);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[1], long_line);
  EXPECT_FALSE(c.too_long[1]);
}

TEST(LineReader, ManyLinesAcrossBufferBoundaries) {
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "line-" + std::to_string(i) + "\n";
  auto c = read_all(input, 1 << 20);
  ASSERT_EQ(c.lines.size(), 200000u);
  EXPECT_EQ(c.lines[123456], "line-123456");
}

TEST(LineReader, StopsWhenTheStopFdIsReadable) {
  int data[2], stop[2];
  ASSERT_EQ(::pipe(data), 0);
  ASSERT_EQ(::pipe(stop), 0);
  ASSERT_EQ(::write(stop[1], "x", 1), 1);
  LineReader reader(data[0], 100, stop[0]);
  Line line;
  EXPECT_EQ(reader.next(line), ReadStatus::stopped);
  for (int fd : {data[0], data[1], stop[0], stop[1]}) ::close(fd);
}

}  // namespace
}  // namespace kv

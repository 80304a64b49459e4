#include "sample_writer.hpp"

#include <algorithm>
#include <array>

#include <simdjson.h>

#include <charconv>
#include <cmath>

#include "atomic_file.hpp"
#include "number_text.hpp"

namespace kv {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;                          // overlong
  if (n == 3 && c == 0xe0 && b(i + 1) < 0xa0) return 0;      // overlong
  if (n == 3 && c == 0xed && b(i + 1) >= 0xa0) return 0;     // surrogates
  if (n == 4 && c == 0xf0 && b(i + 1) < 0x90) return 0;      // overlong
  if (n == 4 && (c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;  // > U+10FFFF
  return n;
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"+Inf\"" : "\"-Inf\"";
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    // Beyond 64 bits a number written as an integer is one JSON readers
    // (simdjson among them) refuse; the exponent form reads as a double.
    if (std::fabs(v) >= 9.2e18 && std::find(buf, res.ptr, 'e') == res.ptr)
      res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    out.append(buf, res.ptr);
  }
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_escaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: {
      static const char* hex = "0123456789abcdef";
      const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(u, sizeof u);
    }
  }
}

constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Per byte: 0 copied as it is, 1 escaped, 2 the start of non-ASCII text.
constexpr std::array<unsigned char, 256> kByteClass = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = c >= 0x80 ? 2 : needs_escape(static_cast<unsigned char>(c)) ? 1 : 0;
  return t;
}();

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  // Runs of bytes that need no escape are copied whole; label values are
  // mostly such runs, and a snapshot writes hundreds of thousands of them.
  std::size_t run = 0, i = 0;
  for (; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (kByteClass[c] == 0) continue;
    if (kByteClass[c] == 2) break;  // the rest is checked as UTF-8 below
    out.append(text.data() + run, i - run);
    append_escaped(out, c);
    run = i + 1;
  }
  out.append(text.data() + run, i - run);
  if (i < text.size()) {
    // ASCII before it cannot be part of a sequence, so the tail alone decides.
    std::string_view tail = text.substr(i);
    bool valid = simdjson::validate_utf8(tail.data(), tail.size());
    for (std::size_t k = 0; k < tail.size();) {
      auto c = static_cast<unsigned char>(tail[k]);
      if (c < 0x80) {
        if (needs_escape(c)) append_escaped(out, c);
        else out += static_cast<char>(c);
        ++k;
        continue;
      }
      std::size_t n = valid ? 1 : utf8_sequence(tail, k);
      if (n == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD
        ++k;
      } else {
        out.append(tail.data() + k, n);
        k += n;
      }
    }
  }
  out += '"';
}

void append_sample_line(std::string& out, const SampleOut& s) {
  out += "{\"name\":";
  append_json_string(out, s.name);
  if (s.type != MetricType::untyped) {
    out += ",\"type\":\"";
    out += to_string(s.type);
    out += '"';
  }
  if (!s.help.empty()) {
    out += ",\"help\":";
    append_json_string(out, s.help);
  }
  if (!s.unit.empty()) {
    out += ",\"unit\":";
    append_json_string(out, s.unit);
  }
  if (!s.labels.empty()) {
    out += ",\"labels\":";
    append_json_string_map(out, s.labels);
  }
  if (s.type == MetricType::histogram) {
    // Bounds as Prometheus text writes le, so the stream reads like the
    // exposition ("0.5", "1", "1e-05").
    out += ",\"buckets\":{";
    for (const HistogramBucket& b : s.buckets) {
      out += '"';
      append_go_float(out, b.upper_bound);
      out += "\":";
      append_uint(out, b.count);
      out += ',';
    }
    out += "\"+Inf\":";
    append_number(out, s.value);
    out += "},\"sum\":";
    append_number(out, s.sum);
  }
  out += ",\"value\":";
  append_number(out, s.value);
  if (s.timestamp_ms) {
    out += ",\"ts\":";
    append_int(out, *s.timestamp_ms);
  }
  out += "}\n";
}

void append_end_line(std::string& out, std::string_view producer,
                     std::optional<std::int64_t> timestamp_ms) {
  out += "{\"end\":";
  append_json_string(out, producer);
  if (timestamp_ms) {
    out += ",\"ts\":";
    append_int(out, *timestamp_ms);
  }
  out += "}\n";
}

void SampleWriter::write(const SampleOut& sample) {
  append_sample_line(buf_, sample);
  if (buf_.size() >= (1 << 16)) flush();
}

void SampleWriter::write_lines(std::string_view lines) {
  if (buf_.empty() && lines.size() >= (1 << 16)) {
    write_all(fd_, lines);  // no copy for a snapshot's worth of lines
    return;
  }
  buf_ += lines;
  if (buf_.size() >= (1 << 16)) flush();
}

void SampleWriter::end_snapshot(std::string_view producer,
                                std::optional<std::int64_t> timestamp_ms) {
  append_end_line(buf_, producer, timestamp_ms);
  flush();
}

void SampleWriter::flush() {
  // Cleared also when the write fails; the buffer keeps its capacity.
  struct Clear {
    std::string& b;
    ~Clear() { b.clear(); }
  } clear{buf_};
  write_all(fd_, buf_);
}

}  // namespace kv

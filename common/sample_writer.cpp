#include "sample_writer.hpp"

#include <algorithm>
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

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    // Runs that need no escape (nearly every string) are copied at once.
    std::size_t run = i;
    while (run < text.size()) {
      unsigned char c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    if (run == text.size()) break;
    i = run;
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence(text, i);
      if (n == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    ++i;
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

void SampleWriter::end_snapshot(std::string_view producer,
                                std::optional<std::int64_t> timestamp_ms) {
  append_end_line(buf_, producer, timestamp_ms);
  flush();
}

void SampleWriter::flush() {
  std::string out;
  out.swap(buf_);
  write_all(fd_, out);
}

}  // namespace kv

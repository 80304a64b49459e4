#include "record_parser.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>

#include "line_reader.hpp"
#include "number_text.hpp"

namespace kv {

namespace dom = simdjson::dom;

static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);

std::string_view to_string(RejectReason reason) {
  switch (reason) {
#define KV_CASE_ITEM(name) \
  case RejectReason::name: return #name;
    KV_REJECT_REASONS(KV_CASE_ITEM)
#undef KV_CASE_ITEM
  }
  return "unknown";
}

std::string quote_for_message(std::string_view text, std::size_t max) {
  std::string out = "\"";
  std::size_t n = std::min(text.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > max) out += "...";
  return out;
}

namespace {

std::string_view json_type_name(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::OBJECT: return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: return "a number";
    case dom::element_type::STRING: return "a string";
    case dom::element_type::BOOL: return "a boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "something else";
}

bool is_number(dom::element_type t) {
  return t == dom::element_type::INT64 || t == dom::element_type::UINT64 ||
         t == dom::element_type::DOUBLE;
}

std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// A bucket while its histogram is being read: the bound as written, for
// messages.
struct PendingBucket {
  double bound;
  std::uint64_t count;
  std::string_view text;
};

constexpr double kTwoTo64 = 18446744073709551616.0;

}  // namespace

struct RecordParser::Impl {
  // The DOM parser picks the best SIMD kernel for this CPU at run time, so
  // one portable binary is fast everywhere (On-Demand is fixed at build time).
  dom::parser parser;
  RecordParser& self;
  std::vector<PendingBucket> pending;  // a histogram's buckets, +Inf included
  explicit Impl(RecordParser& s) : self(s) {}

  RecordKind fail(RejectReason reason, std::string message) {
    self.reject_.reason = reason;
    self.reject_.message = std::move(message);
    return RecordKind::rejected;
  }

  RecordKind json_error(simdjson::error_code err) {
    if (err == simdjson::UTF8_ERROR)
      return fail(RejectReason::invalid_utf8, "line is not valid UTF-8");
    return fail(RejectReason::invalid_json,
                std::string("invalid JSON: ") + simdjson::error_message(err));
  }

  // Reads a "ts" value: integer milliseconds since the epoch.
  bool read_timestamp(dom::element v, std::optional<std::int64_t>& out) {
    std::int64_t ts;
    if (v.type() != dom::element_type::INT64 || v.get_int64().get(ts)) return false;
    out = ts;
    return true;
  }

  // A bucket's count: a whole number >= 0 (as a JSON integer, or a double
  // with nothing after the point).
  static std::optional<Reject> read_bucket_count(std::string_view bound, dom::element v,
                                                 std::uint64_t& out) {
    std::string got;
    switch (v.type()) {
      case dom::element_type::UINT64:
        if (!v.get_uint64().get(out)) return std::nullopt;
        break;
      case dom::element_type::INT64: {
        std::int64_t n = 0;
        if (!v.get_int64().get(n) && n >= 0) {
          out = static_cast<std::uint64_t>(n);
          return std::nullopt;
        }
        got = std::to_string(n);
        break;
      }
      case dom::element_type::DOUBLE: {
        double d = 0;
        if (!v.get_double().get(d) && d >= 0 && d < kTwoTo64 && std::floor(d) == d) {
          out = static_cast<std::uint64_t>(d);
          return std::nullopt;
        }
        got = number_text(d);
        break;
      }
      case dom::element_type::STRING: {
        std::string_view text;
        if (!v.get_string().get(text)) got = quote_for_message(text);
        break;
      }
      default:
        got = json_type_name(v.type());
    }
    return Reject{RejectReason::invalid_histogram,
                  "bucket " + quote_for_message(bound) + " has count " + got +
                      ": a bucket counts observations, so it must be a whole number >= 0"};
  }

  // "buckets" into `pending`, and "sum": out of parse(), which they would
  // make too large for the compiler to keep inlining its path for samples
  // of the other types. The first problem found, if any.
  [[gnu::noinline]] std::optional<Reject> read_buckets(dom::element v) {
    pending.clear();
    dom::object buckets;
    if (v.get_object().get(buckets))
      return Reject{RejectReason::invalid_histogram,
                    "\"buckets\" must be an object of upper bounds and cumulative counts, like "
                    "{\"0.5\":1,\"+Inf\":3}; got " +
                        std::string(json_type_name(v.type()))};
    std::optional<Reject> first;
    for (dom::key_value_pair bucket : buckets) {
      std::optional<double> bound = parse_bucket_bound(bucket.key);
      std::uint64_t count = 0;
      if (!bound) {
        if (!first)
          first = Reject{RejectReason::invalid_histogram,
                         "bucket bound " + quote_for_message(bucket.key) +
                             " is not an upper bound: write a finite decimal number (\"0.5\", "
                             "\"1e-05\") or \"+Inf\""};
      } else if (auto r = read_bucket_count(bucket.key, bucket.value, count)) {
        if (!first) first = std::move(r);
      } else {
        pending.push_back({*bound, count, bucket.key});
      }
    }
    return first;
  }

  [[gnu::noinline]] static std::optional<Reject> read_sum(dom::element v, double& out) {
    dom::element_type type = v.type();
    std::string_view text;
    if (is_number(type) && !v.get_double().get(out)) return std::nullopt;
    if (type == dom::element_type::STRING && !v.get_string().get(text)) {
      if (text == "NaN") out = std::numeric_limits<double>::quiet_NaN();
      else if (text == "+Inf") out = std::numeric_limits<double>::infinity();
      else if (text == "-Inf") out = -std::numeric_limits<double>::infinity();
      if (text == "NaN" || text == "+Inf" || text == "-Inf") return std::nullopt;
    }
    return Reject{RejectReason::invalid_histogram,
                  "\"sum\" must be a JSON number or one of the strings \"NaN\", \"+Inf\", "
                  "\"-Inf\"; got " +
                      (type == dom::element_type::STRING ? quote_for_message(text)
                                                         : std::string(json_type_name(type)))};
  }

  // The checks that need the whole histogram; the buckets become the
  // sample's, sorted, without +Inf.
  [[gnu::noinline]] RecordKind finish_histogram(SampleRecord& s, bool has_buckets, bool has_sum) {
    std::string name = quote_for_message(s.name);
    if (!has_buckets)
      return fail(RejectReason::invalid_histogram,
                  "histogram " + name +
                      " has no \"buckets\": give each upper bound's cumulative count, \"+Inf\" "
                      "included, like \"buckets\":{\"0.5\":1,\"+Inf\":3}");
    if (!has_sum)
      return fail(RejectReason::invalid_histogram,
                  "histogram " + name + " has no \"sum\": give the sum of the observations");
    auto by_bound = [](const PendingBucket& a, const PendingBucket& b) { return a.bound < b.bound; };
    // Producers write bounds in order; JSON does not promise it.
    if (!std::is_sorted(pending.begin(), pending.end(), by_bound))
      std::stable_sort(pending.begin(), pending.end(), by_bound);
    for (std::size_t i = 1; i < pending.size(); ++i) {
      const PendingBucket &a = pending[i - 1], &b = pending[i];
      if (a.bound == b.bound)
        return fail(RejectReason::invalid_histogram,
                    "histogram " + name + " has the bucket bound " + quote_for_message(b.text) +
                        " twice" +
                        (a.text == b.text ? std::string()
                                          : " (also as " + quote_for_message(a.text) + ")") +
                        ": each upper bound has one bucket");
    }
    if (pending.empty() || !std::isinf(pending.back().bound))
      return fail(RejectReason::invalid_histogram,
                  "histogram " + name +
                      " has no \"+Inf\" bucket: it counts every observation, and equals "
                      "\"value\"");
    for (std::size_t i = 1; i < pending.size(); ++i) {
      const PendingBucket &a = pending[i - 1], &b = pending[i];
      if (b.count < a.count)
        return fail(RejectReason::invalid_histogram,
                    "histogram " + name + " has bucket counts that go down: " +
                        quote_for_message(b.text) + " has " + std::to_string(b.count) + " but " +
                        quote_for_message(a.text) + " has " + std::to_string(a.count) +
                        "; counts are cumulative (each counts the observations <= its bound), "
                        "so they never decrease as bounds grow");
    }
    std::uint64_t count = pending.back().count;
    if (!(s.value == static_cast<double>(count)))
      return fail(RejectReason::invalid_histogram,
                  "histogram " + name + " has \"value\" " + number_text(s.value) +
                      " but its \"+Inf\" bucket counts " + std::to_string(count) +
                      ": a histogram's value is its count of observations, the +Inf bucket's");
    for (const LabelPair& label : s.labels)
      if (label.first == "le")
        return fail(RejectReason::reserved_label_name,
                    "histogram " + name +
                        " has a label \"le\", which is reserved: each bucket series gets le, "
                        "its upper bound");
    s.buckets.clear();
    for (std::size_t i = 0; i + 1 < pending.size(); ++i)
      s.buckets.push_back({pending[i].bound, pending[i].count});
    s.count = count;
    return RecordKind::sample;
  }

  [[gnu::noinline]] RecordKind not_a_histogram(const SampleRecord& s, bool has_buckets) {
    return fail(RejectReason::invalid_histogram,
                "sample " + quote_for_message(s.name) + " has \"" +
                    (has_buckets ? "buckets" : "sum") + "\" but its type is " +
                    std::string(to_string(s.type)) +
                    ": add \"type\":\"histogram\", or leave \"buckets\" and \"sum\" out");
  }

  RecordKind parse(std::string_view line, std::size_t capacity) {
    // Blank lines (and a lone '\r') carry nothing; skipping them is harmless.
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return RecordKind::blank;

    // simdjson reads up to kLinePadding bytes past the end (LineReader's promise).
    assert(capacity >= line.size() + kLinePadding);
    (void)capacity;
    dom::element doc;
    if (auto err = parser.parse(line.data(), line.size(), false).get(doc)) return json_error(err);
    dom::object obj;
    if (doc.get_object().get(obj))
      return fail(RejectReason::not_an_object,
                  "a record must be a JSON object with \"name\" (a sample) or \"end\" (a "
                  "snapshot end)");

    SampleRecord& s = self.sample_;
    s.name = {};
    s.type = MetricType::untyped;
    s.help = {};
    s.unit = {};
    s.labels.clear();
    s.timestamp_ms.reset();
    s.buckets.clear();
    s.count = 0;
    s.sum = 0;
    bool has_name = false, has_value = false, has_end = false;
    bool has_buckets = false, has_sum = false;
    std::optional<Reject> deferred;  // first field error; JSON errors win over it
    auto defer = [&](RejectReason r, std::string m) {
      if (!deferred) deferred = Reject{r, std::move(m)};
    };
    std::string_view end_producer;
    std::optional<std::int64_t> ts;

    for (dom::key_value_pair field : obj) {
      std::string_view key = field.key;
      dom::element v = field.value;
      dom::element_type type = v.type();

      if (key == "name") {
        has_name = true;
        if (type != dom::element_type::STRING ||
            v.get_string().get(s.name) != simdjson::SUCCESS) {
          defer(RejectReason::invalid_name,
                std::string("\"name\" must be a string; got ") +
                    std::string(json_type_name(type)));
        }
      } else if (key == "value") {
        has_value = true;
        if (is_number(type)) {
          if (auto err = v.get_double().get(s.value)) return json_error(err);
        } else if (type == dom::element_type::STRING) {
          std::string_view text;
          if (auto err = v.get_string().get(text)) return json_error(err);
          if (text == "NaN") s.value = std::numeric_limits<double>::quiet_NaN();
          else if (text == "+Inf") s.value = std::numeric_limits<double>::infinity();
          else if (text == "-Inf") s.value = -std::numeric_limits<double>::infinity();
          else
            defer(RejectReason::invalid_value,
                  "\"value\" must be a JSON number or one of the strings \"NaN\", \"+Inf\", "
                  "\"-Inf\"; got " + quote_for_message(text));
        } else {
          defer(RejectReason::invalid_value,
                std::string("\"value\" must be a JSON number or one of the strings \"NaN\", "
                            "\"+Inf\", \"-Inf\"; got ") +
                    std::string(json_type_name(type)));
        }
      } else if (key == "type") {
        std::string_view text;
        std::optional<MetricType> mt;
        if (type == dom::element_type::STRING) {
          if (auto err = v.get_string().get(text)) return json_error(err);
          mt = parse_metric_type(text);
        }
        if (mt) s.type = *mt;
        else
          defer(RejectReason::invalid_type,
                "\"type\" must be \"counter\", \"gauge\", \"histogram\" or \"untyped\"; got " +
                    (type == dom::element_type::STRING ? quote_for_message(text)
                                                   : std::string(json_type_name(type))));
      } else if (key == "help") {
        if (type != dom::element_type::STRING) {
          defer(RejectReason::invalid_help,
                "\"help\" must be a string; got " + std::string(json_type_name(type)));
        } else if (auto err = v.get_string().get(s.help)) {
          return json_error(err);
        }
      } else if (key == "unit") {
        if (type != dom::element_type::STRING) {
          defer(RejectReason::invalid_unit,
                "\"unit\" must be a string; got " + std::string(json_type_name(type)));
        } else if (auto err = v.get_string().get(s.unit)) {
          return json_error(err);
        } else if (!s.unit.empty() && !is_valid_label_name(s.unit)) {
          defer(RejectReason::invalid_unit,
                "\"unit\" " + quote_for_message(s.unit) +
                    " is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*");
        }
      } else if (key == "labels") {
        if (type != dom::element_type::OBJECT) {
          defer(RejectReason::invalid_labels,
                "\"labels\" must be an object of string values; got " +
                    std::string(json_type_name(type)));
          continue;
        }
        dom::object labels;
        if (auto err = v.get_object().get(labels)) return json_error(err);
        for (dom::key_value_pair label : labels) {
          std::string_view lname = label.key, lvalue;
          dom::element lv = label.value;
          dom::element_type ltype = lv.type();
          if (ltype != dom::element_type::STRING) {
            defer(RejectReason::invalid_labels,
                  "label " + quote_for_message(lname) + " must have a string value; got " +
                      std::string(json_type_name(ltype)));
            continue;
          }
          if (auto err = lv.get_string().get(lvalue)) return json_error(err);
          if (is_reserved_label_name(lname)) {
            defer(RejectReason::reserved_label_name,
                  "label name " + quote_for_message(lname) +
                      " is reserved: names starting with \"__\" belong to Prometheus");
          } else if (!is_valid_label_name(lname)) {
            defer(RejectReason::invalid_label_name,
                  "label name " + quote_for_message(lname) +
                      " is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*");
          }
          s.labels.emplace_back(lname, lvalue);
        }
      } else if (key == "ts") {
        if (!read_timestamp(v, ts))
          defer(RejectReason::invalid_timestamp,
                "\"ts\" must be an integer number of milliseconds since the epoch");
      } else if (key == "buckets") {
        has_buckets = true;
        if (auto r = read_buckets(v)) defer(r->reason, std::move(r->message));
      } else if (key == "sum") {
        has_sum = true;
        if (auto r = read_sum(v, s.sum)) defer(r->reason, std::move(r->message));
      } else if (key == "end") {
        has_end = true;
        if (type != dom::element_type::STRING ||
            v.get_string().get(end_producer) != simdjson::SUCCESS)
          defer(RejectReason::invalid_end,
                "\"end\" must be a string naming the producer; got " +
                    std::string(json_type_name(type)));
      }
      // Unknown keys are skipped: v1 may grow new fields.
    }
    if (deferred) {
      self.reject_ = std::move(*deferred);
      return RecordKind::rejected;
    }

    if (has_end && !has_name) {
      self.end_.producer = end_producer;
      self.end_.timestamp_ms = ts;
      return RecordKind::end;
    }
    if (!has_name)
      return fail(RejectReason::not_a_record,
                  "a record needs \"name\" (a sample) or \"end\" (a snapshot end)");
    if (has_end)
      return fail(RejectReason::not_a_record,
                  "a record has either \"name\" (a sample) or \"end\" (a snapshot end), not "
                  "both");
    if (!is_valid_metric_name(s.name))
      return fail(RejectReason::invalid_name, "metric name " + quote_for_message(s.name) +
                                                  " is invalid: it must match "
                                                  "[a-zA-Z_:][a-zA-Z0-9_:]*");
    if (!has_value)
      return fail(RejectReason::invalid_value, "sample " + quote_for_message(s.name) +
                                                   " has no \"value\"");
    // Negative is allowed: KubeVirt itself writes -1 in counters (its
    // *_status_last_transition_timestamp_seconds, for "no time yet").
    if (s.type == MetricType::counter && std::isnan(s.value))
      return fail(RejectReason::invalid_value,
                  "counter " + quote_for_message(s.name) + " must not be NaN");
    if (s.type == MetricType::histogram) {
      if (finish_histogram(s, has_buckets, has_sum) == RecordKind::rejected)
        return RecordKind::rejected;
    } else if (has_buckets || has_sum) {
      return not_a_histogram(s, has_buckets);
    }
    s.timestamp_ms = ts;

    std::sort(s.labels.begin(), s.labels.end(),
              [](const LabelPair& a, const LabelPair& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < s.labels.size(); ++i)
      if (s.labels[i].first == s.labels[i - 1].first)
        return fail(RejectReason::duplicate_label,
                    "label " + quote_for_message(s.labels[i].first) + " appears twice");
    return RecordKind::sample;
  }
};

RecordParser::RecordParser() : impl_(std::make_unique<Impl>(*this)) {}
RecordParser::~RecordParser() = default;

RecordKind RecordParser::parse(std::string_view line, std::size_t capacity) {
  return impl_->parse(line, capacity);
}

RecordKind RecordParser::parse(std::string_view line) {
  padded_.assign(line);
  padded_.resize(line.size() + kLinePadding, '\0');
  return impl_->parse(std::string_view(padded_.data(), line.size()), padded_.size());
}

}  // namespace kv

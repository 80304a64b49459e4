#include "exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "number_text.hpp"

namespace kv {

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
  }
}

void append_escaped_help(std::string& out, std::string_view help, ExpositionFormat format) {
  bool quote = format == ExpositionFormat::openmetrics;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
}

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// OpenMetrics timestamps are seconds; keep the milliseconds exact.
void append_om_timestamp(std::string& out, std::int64_t ms) {
  // Unsigned, so that the most negative value has a magnitude too.
  std::uint64_t magnitude = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  if (ms < 0) out += '-';
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, magnitude / 1000);
  out.append(buf, res.ptr);
  int frac = static_cast<int>(magnitude % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}


void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_timestamp(std::string& out, const Series& s, const RenderOptions& options) {
  if (options.timestamps && s.has_timestamp) {
    out += ' ';
    if (options.format == ExpositionFormat::openmetrics) append_om_timestamp(out, s.timestamp_ms);
    else append_int(out, s.timestamp_ms);
  }
  out += '\n';
}

void append_series(std::string& out, std::string_view name, const Series& s,
                   const RenderOptions& options) {
  out += name;
  out += s.labels;
  out += ' ';
  append_value(out, s.value);
  // (Not append_timestamp: the compiler would not inline it on this path.)
  if (options.timestamps && s.has_timestamp) {
    out += ' ';
    if (options.format == ExpositionFormat::openmetrics) append_om_timestamp(out, s.timestamp_ms);
    else append_int(out, s.timestamp_ms);
  }
  out += '\n';
}

// name_bucket{labels,le="bound"} count, as Prometheus' encoders write it:
// le after the series' own labels.
void append_bucket(std::string& out, std::string_view name, const Series& s, double bound,
                   std::uint64_t count, const RenderOptions& options) {
  out += name;
  out += "_bucket";
  if (s.labels.empty()) {
    out += '{';
  } else {
    out.append(s.labels.data(), s.labels.size() - 1);  // without the '}'
    out += ',';
  }
  out += "le=\"";
  if (options.format == ExpositionFormat::openmetrics) append_openmetrics_float(out, bound);
  else append_go_float(out, bound);
  out += "\"} ";
  append_uint(out, count);
  append_timestamp(out, s, options);
}

// A histogram series: its buckets in increasing order, +Inf last, then
// _sum and _count (Prometheus' order). OpenMetrics has the sum only as a
// counter, and the count only with a sum.
void append_histogram(std::string& out, std::string_view name, const Series& s,
                      const RenderOptions& options) {
  const Histogram& h = *s.histogram;
  for (const HistogramBucket& b : h.buckets)
    append_bucket(out, name, s, b.upper_bound, b.count, options);
  append_bucket(out, name, s, std::numeric_limits<double>::infinity(), h.count, options);
  if (options.format == ExpositionFormat::openmetrics && !histogram_sum_is_counter(h.sum, h.buckets))
    return;
  out += name;
  out += "_sum";
  out += s.labels;
  out += ' ';
  append_value(out, h.sum);
  append_timestamp(out, s, options);
  out += name;
  out += "_count";
  out += s.labels;
  out += ' ';
  append_uint(out, h.count);
  append_timestamp(out, s, options);
}

// Writes the series of a family in the output's format.
template <typename Flush>
void append_family_series(std::string& out, const MergedFamily& m, const RenderOptions& options,
                          Flush&& flush) {
  if (m.type == MetricType::histogram) {
    for_each_merged_series(m, [&](const Series& s) {
      append_histogram(out, m.name, s, options);
      flush();
    });
  } else {
    for_each_merged_series(m, [&](const Series& s) {
      append_series(out, m.name, s, options);
      flush();
    });
  }
}

constexpr std::string_view kTotal = "_total";
constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

MergedView merge_snapshots(std::span<const Snapshot* const> snapshots) {
  MergedView view;
  // Gather families of every snapshot in (name, input) order.
  struct Ref {
    const Family* family;
    const Snapshot* snapshot;
    std::size_t input;
  };
  std::vector<Ref> refs;
  for (std::size_t i = 0; i < snapshots.size(); ++i)
    for (const Family& f : snapshots[i]->families) refs.push_back({&f, snapshots[i], i});
  if (snapshots.size() > 1)
    std::stable_sort(refs.begin(), refs.end(),
                     [](const Ref& a, const Ref& b) { return a.family->name < b.family->name; });

  for (const Ref& r : refs) {
    const Family& f = *r.family;
    std::span<const Series> part(r.snapshot->series.data() + f.begin, f.end - f.begin);
    if (!view.families.empty() && view.families.back().name == f.name) {
      MergedFamily& m = view.families.back();
      if (m.type != f.type) {
        view.conflicts.push_back(f.name);
        continue;
      }
      if (m.help.empty()) m.help = f.help;
      if (m.unit.empty()) m.unit = f.unit;
      m.parts.push_back(part);
      continue;
    }
    view.families.push_back({f.name, f.name, f.type, "unknown", f.help, f.unit, {part}});
  }

  // OpenMetrics names: a counter "x_total" is family "x", which also owns
  // the sample name "x_created"; when another family has either name, the
  // counter stays "x_total", of type unknown.
  // A histogram x writes the series x_bucket, x_sum and x_count: a family
  // of one of those names would be mixed into them, and is left out.
  std::set<std::string, std::less<>> names;
  for (const MergedFamily& m : view.families) {
    if (m.type != MetricType::histogram) continue;
    for (std::string_view suffix : kHistogramSuffixes) names.emplace(std::string(m.name) + std::string(suffix));
  }
  if (!names.empty()) {
    std::erase_if(view.families, [&](const MergedFamily& m) {
      if (!names.contains(m.name)) return false;
      view.clashes.emplace_back(m.name);
      return true;
    });
  }
  // (The names a histogram owns stay taken for OpenMetrics' counters too.)
  for (const MergedFamily& m : view.families) names.emplace(m.name);
  for (MergedFamily& m : view.families) {
    if (m.type == MetricType::gauge) {
      m.om_type = "gauge";
    } else if (m.type == MetricType::histogram) {
      m.om_type = "histogram";
    } else if (m.type == MetricType::counter && m.name.size() > kTotal.size() &&
               m.name.ends_with(kTotal)) {
      std::string_view stem = m.name.substr(0, m.name.size() - kTotal.size());
      if (!names.contains(stem) && !names.contains(std::string(stem) + "_created")) {
        m.om_name = stem;
        m.om_type = "counter";
      }
    }
  }
  view.om_order.resize(view.families.size());
  for (std::size_t i = 0; i < view.om_order.size(); ++i) view.om_order[i] = i;
  std::stable_sort(view.om_order.begin(), view.om_order.end(), [&](std::size_t a, std::size_t b) {
    return view.families[a].om_name < view.families[b].om_name;
  });

  return view;
}

void render(const MergedView& view, const RenderOptions& options, RenderBuffer& buffer) {
  std::string& out = buffer.data();
  if (options.format == ExpositionFormat::prometheus_text) {
    for (const MergedFamily& m : view.families) {
      if (!m.help.empty()) {
        out += "# HELP ";
        out += m.name;
        out += ' ';
        append_escaped_help(out, m.help, options.format);
        out += '\n';
      }
      out += "# TYPE ";
      out += m.name;
      out += ' ';
      out += to_string(m.type);
      out += '\n';
      append_family_series(out, m, options, [&] { buffer.maybe_flush(); });
    }
  } else {
    for (std::size_t i : view.om_order) {
      const MergedFamily& m = view.families[i];
      out += "# TYPE ";
      out += m.om_name;
      out += ' ';
      out += m.om_type;
      out += '\n';
      // A UNIT line is only valid when the family name ends with the unit.
      if (!m.unit.empty() && m.om_name.size() > m.unit.size() && m.om_name.ends_with(m.unit) &&
          m.om_name[m.om_name.size() - m.unit.size() - 1] == '_') {
        out += "# UNIT ";
        out += m.om_name;
        out += ' ';
        out += m.unit;
        out += '\n';
      }
      if (!m.help.empty()) {
        out += "# HELP ";
        out += m.om_name;
        out += ' ';
        append_escaped_help(out, m.help, options.format);
        out += '\n';
      }
      append_family_series(out, m, options, [&] { buffer.maybe_flush(); });
    }
    out += "# EOF\n";
  }
  buffer.flush();
}

std::string render_to_string(const MergedView& view, const RenderOptions& options) {
  RenderBuffer buffer;
  render(view, options, buffer);
  return buffer.take();
}

}  // namespace kv

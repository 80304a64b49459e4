#include "exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

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

void append_series(std::string& out, std::string_view name, const Series& s,
                   const RenderOptions& options) {
  out += name;
  out += s.labels;
  out += ' ';
  append_value(out, s.value);
  if (options.timestamps && s.has_timestamp) {
    out += ' ';
    if (options.format == ExpositionFormat::openmetrics) append_om_timestamp(out, s.timestamp_ms);
    else append_int(out, s.timestamp_ms);
  }
  out += '\n';
}

constexpr std::string_view kTotal = "_total";

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
  std::set<std::string, std::less<>> names;
  for (const MergedFamily& m : view.families) names.emplace(m.name);
  for (MergedFamily& m : view.families) {
    if (m.type == MetricType::gauge) {
      m.om_type = "gauge";
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
      for_each_merged_series(m, [&](const Series& s) {
        append_series(out, m.name, s, options);
        buffer.maybe_flush();
      });
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
      for_each_merged_series(m, [&](const Series& s) {
        append_series(out, m.name, s, options);
        buffer.maybe_flush();
      });
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

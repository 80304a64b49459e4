#include "otlp_batch.hpp"

#include <algorithm>

namespace kv::promfmt {


std::shared_ptr<const OtlpBatch> OtlpSeriesTracker::next(
    const MergedView& view, std::vector<std::shared_ptr<const Snapshot>> snapshots,
    std::int64_t now_ms) {
  auto batch = std::make_shared<OtlpBatch>();
  batch->snapshots_ = std::move(snapshots);
  static const std::vector<OtlpPoint> kNone;
  const OtlpBatch* prev = previous_.get();
  const std::vector<OtlpPoint>& old = prev ? prev->points_ : kNone;
  std::size_t oi = 0;  // the next point of the previous batch

  auto& points = batch->points_;
  points.reserve(old.size() + 16);
  auto add_family = [&](const OtlpFamily& f) {
    batch->families_.push_back(f);
    return static_cast<std::uint32_t>(batch->families_.size() - 1);
  };
  auto mark_stale = [&](const OtlpPoint& gone, std::uint32_t family) {
    OtlpPoint& p = points.emplace_back(OtlpPoint{family, gone.labels, {0.0}, now_ms, gone.start_ms, true});
    if (batch->families_[family].type == MetricType::histogram) p.histogram = nullptr;
    ++batch->stale_;
  };
  auto old_family = [&](std::size_t i) -> const OtlpFamily& {
    return prev->families_[old[i].family];
  };
  // Families of the previous batch that sort before `name` are gone whole.
  auto flush_gone_families = [&](const std::string_view* name) {
    while (oi < old.size() && (!name || old_family(oi).name < *name)) {
      std::uint32_t gone = old[oi].family;
      std::uint32_t family = 0;
      bool added = false;
      for (; oi < old.size() && old[oi].family == gone; ++oi) {
        if (old[oi].stale) continue;  // already marked once
        if (!added) family = add_family(old_family(oi)), added = true;
        mark_stale(old[oi], family);
      }
    }
  };

  for (const MergedFamily& m : view.families) {
    flush_gone_families(&m.name);
    std::uint32_t family = add_family({m.name, m.help, m.unit, m.type});
    // The previous batch's points of the same family: [oi, old_end).
    std::size_t old_end = oi;
    bool cumulative = m.type == MetricType::counter || m.type == MetricType::histogram;
    bool was_same_type = false;
    if (oi < old.size() && old_family(oi).name == m.name) {
      was_same_type = old_family(oi).type == m.type;
      while (old_end < old.size() && old[old_end].family == old[oi].family) ++old_end;
    }
    for_each_merged_series(m, [&](const Series& s) {
      std::int64_t time = s.has_timestamp ? s.timestamp_ms : now_ms;
      for (; oi < old_end && (old[oi].stale || label_set_less(old[oi].labels, s.labels)); ++oi)
        if (!old[oi].stale) mark_stale(old[oi], family);
      const OtlpPoint* before = nullptr;
      if (oi < old_end && old[oi].labels == s.labels) before = &old[oi++];

      std::int64_t start = 0;
      if (cumulative) {
        bool reset = false;
        if (before && was_same_type)
          reset = m.type == MetricType::histogram ? s.histogram->count < before->histogram->count
                                                  : s.value < before->value;
        if (!before || !was_same_type) start = time;  // first seen: start unknown
        else if (reset) start = before->time_ms;     // reset since then
        else start = before->start_ms;
        start = std::min(start, time);
      }
      OtlpPoint& p = points.emplace_back(OtlpPoint{family, s.labels, {0.0}, time, start, false});
      if (m.type == MetricType::histogram) p.histogram = s.histogram;
      else p.value = s.value;
    });
    for (; oi < old_end; ++oi)
      if (!old[oi].stale) mark_stale(old[oi], family);
  }
  flush_gone_families(nullptr);

  if (batch->stale_ > 0) {
    // A marker says "gone as of this merge": its time is this merge's, never
    // before the points it comes with (samples may carry their own times).
    std::int64_t time = now_ms;
    for (const OtlpPoint& p : points)
      if (!p.stale) time = std::max(time, p.time_ms);
    for (OtlpPoint& p : points)
      if (p.stale) p.time_ms = time;
    batch->previous_ = prev->snapshots_;
  }
  previous_ = batch;
  return batch;
}

LabelSetCursor::LabelSetCursor(std::string_view rendered)
    : rest_(rendered.size() >= 2 ? rendered.substr(1, rendered.size() - 2) : std::string_view()) {}

bool LabelSetCursor::next(std::string_view& name, std::string_view& escaped_value) {
  if (rest_.empty()) return false;
  std::size_t eq = 0;  // label names are short and have no '=': no memchr call
  while (rest_[eq] != '=') ++eq;
  name = rest_.substr(0, eq);
  std::size_t begin = eq + 2, i = begin;  // after ="
  while (rest_[i] != '"') i += rest_[i] == '\\' ? 2 : 1;
  escaped_value = rest_.substr(begin, i - begin);
  rest_.remove_prefix(std::min(rest_.size(), i + 2));  // past the quote and the comma
  return true;
}

std::size_t unescaped_size(std::string_view escaped) {
  std::size_t escapes = 0;
  for (std::size_t i = 0; i < escaped.size(); ++i)
    if (escaped[i] == '\\') ++escapes, ++i;
  return escaped.size() - escapes;
}

char* write_unescaped(char* out, std::string_view escaped) {
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (c == '\\') {
      c = escaped[++i];
      if (c == 'n') c = '\n';
    }
    *out++ = c;
  }
  return out;
}

}  // namespace kv::promfmt

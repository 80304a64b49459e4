#include "kv-watch/transitions.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace kv::watch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A value as a label shows it; strings without a copy.
std::string_view value_text(element v, std::string& scratch) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) return s;
  scratch = crs::go_format_value(v);
  return scratch;
}

// The time at `path` from `from`; nullopt with `why` when it is missing or
// not a time.
std::optional<crs::KubeTime> time_at(const crs::ValuePath& path, element from, const std::string& what,
                                     std::string& why) {
  auto v = path.get(from);
  if (!v) {
    why = what + " is missing";
    return std::nullopt;
  }
  std::string_view text;
  std::optional<crs::KubeTime> t;
  if (v->get(text) == simdjson::SUCCESS) t = crs::parse_kube_time(text);
  if (!t) why = what + " is not an RFC 3339 time: " + crs::go_format_value(*v);
  return t;
}

// The time the object entered `value`: the first element of the list whose
// key is `value`, its time.
std::optional<crs::KubeTime> entered(const crs::TransitionSpec& t, element object, std::string_view value,
                                     std::string& why) {
  auto list = t.list.get(object);
  std::string scratch;
  if (list && list->type() == element_type::ARRAY) {
    for (auto item : list->get_array()) {
      auto key = t.key.get(item);
      if (!key || value_text(*key, scratch) != value) continue;
      return time_at(t.time, item, "the " + t.time.describe() + " of " + std::string(value) + " in " + t.list.describe(),
                     why);
    }
  }
  why = t.list.describe() + " has no element whose " + t.key.describe() + " is " + std::string(value);
  return std::nullopt;
}

}  // namespace

std::optional<double> transition_seconds(const crs::MetricSpec& metric, element object, std::string_view value,
                                         std::string_view previous, std::string& why) {
  why.clear();
  const crs::TransitionSpec& t = metric.each.transition;
  if (value.empty() || value == previous) return std::nullopt;
  if (!crs::meets_conditions(metric, object)) return std::nullopt;
  // The reference first: a change from unset without one observes nothing,
  // and is no error.
  std::optional<crs::KubeTime> from;
  if (previous.empty() && !t.from_unset.empty()) {
    from = time_at(t.from_unset, object, t.from_unset.describe(), why);
  } else if (t.from_previous) {
    if (previous.empty()) return std::nullopt;
    from = entered(t, object, previous, why);
  } else {
    from = time_at(t.from, object, t.from.describe(), why);
  }
  if (!from) return std::nullopt;
  auto to = entered(t, object, value, why);
  if (!to) return std::nullopt;
  // Clocks of different writers may disagree by a little: 0 is the floor,
  // as in KubeVirt.
  return std::max(0.0, crs::seconds_between(*from, *to));
}

void TransitionHistogram::observe(const crs::LabelSet& labels, double seconds) {
  const auto& bounds = spec_.each.transition.buckets;
  // The first bucket whose bound is >= the value (Prometheus' le).
  std::size_t i = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  std::lock_guard lock(mu_);
  Counts& c = series_[labels];
  if (c.per_bucket.empty()) c.per_bucket.assign(bounds.size() + 1, 0);
  ++c.per_bucket[i];
  ++c.count;
  c.sum += seconds;
}

void TransitionHistogram::left_out(const std::string& object_key, const std::string& why) {
  ++errors_;
  if (!logged_.exchange(true))
    spdlog::warn("{}: object {}: {}; not observed (further errors of this metric are only counted)", spec_.where,
                 object_key, why);
}

void TransitionHistogram::write(const std::function<void(const SampleOut&)>& sink) const {
  const auto& bounds = spec_.each.transition.buckets;
  std::vector<HistogramBucket> buckets(bounds.size());
  SampleOut s;
  s.name = spec_.name;
  s.type = MetricType::histogram;
  s.help = spec_.help;
  s.unit = "seconds";
  std::lock_guard lock(mu_);
  for (const auto& [labels, c] : series_) {
    std::uint64_t below = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      below += c.per_bucket[i];
      buckets[i] = {bounds[i], below};
    }
    s.labels.assign(labels.begin(), labels.end());
    s.buckets = buckets;
    s.value = static_cast<double>(c.count);
    s.sum = c.sum;
    sink(s);
    s.help = {};  // the first sample of a name carries its help (kv-sample(5))
  }
}

TransitionObserver::TransitionObserver(std::vector<TransitionHistogram*> metrics) {
  for (TransitionHistogram* h : metrics) {
    const crs::ValuePath& p = h->spec().each.path;
    auto same = std::find_if(paths_.begin(), paths_.end(), [&](const crs::ValuePath* q) {
      return q->describe() == p.describe();
    });
    std::size_t index = same - paths_.begin();
    if (same == paths_.end()) paths_.push_back(&p);
    metrics_.push_back({h, index});
  }
}

// One path: the value itself. More: each value after its length and ':'.
void TransitionObserver::digest(element object, std::string& out) const {
  std::string scratch;
  for (const crs::ValuePath* p : paths_) {
    auto v = p->get(object);
    std::string_view text = v ? value_text(*v, scratch) : std::string_view();
    if (paths_.size() > 1) out.append(std::to_string(text.size())).append(":");
    out.append(text);
  }
}

std::vector<std::string_view> TransitionObserver::split(std::string_view digest) const {
  if (paths_.size() == 1) return {digest};
  std::vector<std::string_view> values;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(digest.data(), digest.data() + digest.size(), n);
    std::size_t skip = static_cast<std::size_t>(end - digest.data()) + 1;
    if (ec != std::errc() || skip > digest.size() || n > digest.size() - skip) {
      values.resize(paths_.size());  // not one of ours (an empty digest): all unset
      return values;
    }
    values.push_back(digest.substr(skip, n));
    digest.remove_prefix(skip + n);
  }
  return values;
}

void TransitionObserver::updated(std::string_view old_digest, std::string_view new_digest, element object) {
  auto before = split(old_digest), after = split(new_digest);
  std::string why;
  for (const Watched& w : metrics_) {
    std::string_view previous = before[w.path], value = after[w.path];
    if (previous == value) continue;
    const crs::MetricSpec& spec = w.histogram->spec();
    auto seconds = transition_seconds(spec, object, value, previous, why);
    if (seconds) w.histogram->observe(crs::transition_labels(spec, object, value, previous), *seconds);
    else if (!why.empty()) w.histogram->left_out(object_key(object), why);
  }
}

TransitionMetrics::TransitionMetrics(const std::vector<const crs::ResourceSpec*>& resources) {
  for (const crs::ResourceSpec* r : resources) {
    std::vector<TransitionHistogram*> mine;
    for (const auto& m : r->metrics) {
      if (m.each.type != crs::EachType::transition) continue;
      histograms_.push_back(std::make_unique<TransitionHistogram>(m));
      mine.push_back(histograms_.back().get());
    }
    if (!mine.empty()) observers_[r] = std::make_shared<TransitionObserver>(std::move(mine));
  }
}

std::shared_ptr<UpdateObserver> TransitionMetrics::observer(const crs::ResourceSpec& resource) const {
  auto it = observers_.find(&resource);
  return it == observers_.end() ? nullptr : it->second;
}

const TransitionHistogram* TransitionMetrics::histogram(const crs::MetricSpec& metric) const {
  for (const auto& h : histograms_)
    if (&h->spec() == &metric) return h.get();
  return nullptr;
}

void TransitionMetrics::add_errors(std::map<std::string, std::uint64_t>& out) const {
  for (const auto& h : histograms_)
    if (auto n = h->errors()) out[h->spec().name] += n;
}

}  // namespace kv::watch

// The Transition metrics of a config (kv-watch-config(5)): histograms of the
// seconds between an object's changes of one value and a reference time,
// like KubeVirt's kubevirt_vmi_phase_transition_time_* histograms.
//
// They are observed where an informer's update handler would observe them:
// when the cache replaces a version of an object with a newer one whose
// watched value differs (a MODIFIED event, or a relist finding an object
// changed in a gap); never for objects first cached (the initial list, an
// ADDED), and a deleted object is forgotten. Like KubeVirt's, they count
// from the start of the process.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "kv-watch/object_cache.hpp"
#include "sample_writer.hpp"

namespace kv::watch {

// One Transition metric's histograms, one per label set. Thread-safe.
class TransitionHistogram {
 public:
  explicit TransitionHistogram(const crs::MetricSpec& spec) : spec_(spec) {}
  const crs::MetricSpec& spec() const { return spec_; }
  void observe(const crs::LabelSet& labels, double seconds);
  // An observation left out: counted; the first one of the metric is logged.
  void left_out(const std::string& object_key, const std::string& why);
  std::uint64_t errors() const { return errors_.load(); }
  // Every series as a histogram sample (kv-sample(5)), in label order.
  void write(const std::function<void(const SampleOut&)>& sink) const;

 private:
  struct Counts {
    std::vector<std::uint64_t> per_bucket;  // not cumulative; the last is above every bound
    std::uint64_t count = 0;
    double sum = 0;
  };
  const crs::MetricSpec& spec_;
  mutable std::mutex mu_;
  std::map<crs::LabelSet, Counts> series_;
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<bool> logged_{false};
};

// What one Transition metric observes when an object's value changed from
// `previous` to `value` ("" for unset) in the version `object`: the seconds
// to observe, or nullopt when there is nothing to observe (the `when`
// conditions do not hold, the value became unset, or a change from unset
// with neither fromUnset nor a reference path); `why` is set when the
// times are missing or are not times, which is an error.
std::optional<double> transition_seconds(const crs::MetricSpec& metric, simdjson::dom::element object,
                                         std::string_view value, std::string_view previous, std::string& why);

// The observer of one resource's caches: the digest is the value at each
// distinct watched path of its Transition metrics.
class TransitionObserver : public UpdateObserver {
 public:
  explicit TransitionObserver(std::vector<TransitionHistogram*> metrics);
  void digest(simdjson::dom::element object, std::string& out) const override;
  void updated(std::string_view old_digest, std::string_view new_digest, simdjson::dom::element object) override;

 private:
  std::vector<std::string_view> split(std::string_view digest) const;
  std::vector<const crs::ValuePath*> paths_;  // distinct
  struct Watched {
    TransitionHistogram* histogram;
    std::size_t path;  // index into paths_
  };
  std::vector<Watched> metrics_;
};

// Every Transition metric of the configured resources.
class TransitionMetrics {
 public:
  TransitionMetrics() = default;
  explicit TransitionMetrics(const std::vector<const crs::ResourceSpec*>& resources);
  // The observer for a resource's caches; nullptr when it has no Transition metric.
  std::shared_ptr<UpdateObserver> observer(const crs::ResourceSpec& resource) const;
  // nullptr when `metric` is not one of them.
  const TransitionHistogram* histogram(const crs::MetricSpec& metric) const;
  // Adds the observations left out so far, per metric name.
  void add_errors(std::map<std::string, std::uint64_t>& out) const;

 private:
  std::vector<std::unique_ptr<TransitionHistogram>> histograms_;
  std::map<const crs::ResourceSpec*, std::shared_ptr<TransitionObserver>> observers_;
};

}  // namespace kv::watch

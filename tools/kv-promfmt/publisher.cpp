#include "publisher.hpp"

#include <unistd.h>

#include <system_error>

#include "atomic_file.hpp"
#include "clock.hpp"
#include "gzip.hpp"
#include "logging.hpp"
#include "otlp_encoder.hpp"

namespace kv::promfmt {

namespace {
std::vector<const Snapshot*> raw_pointers(const std::vector<std::shared_ptr<const Snapshot>>& v) {
  std::vector<const Snapshot*> out;
  for (const auto& s : v)
    if (s) out.push_back(s.get());
  return out;
}
}  // namespace

Exposition::Exposition(std::vector<std::shared_ptr<const Snapshot>> snapshots, bool timestamps,
                       std::uint64_t generation, std::int64_t published_ms)
    : snapshots_(std::move(snapshots)),
      view_(merge_snapshots(raw_pointers(snapshots_))),
      timestamps_(timestamps),
      generation_(generation),
      published_ms_(published_ms) {}

std::shared_ptr<const std::string> Exposition::body(ExpositionFormat format, bool gzip) const {
  const Variant& v = variants_[static_cast<std::size_t>(format) * 2 + (gzip ? 1 : 0)];
  std::call_once(v.once, [&] {
    if (gzip) {
      auto plain = body(format, false);
      v.body = std::make_shared<const std::string>(gzip_compress(*plain));
    } else {
      v.body = std::make_shared<const std::string>(render_to_string(view_, {format, timestamps_}));
    }
    spdlog::debug("rendered snapshot {} as {}{} ({} bytes)", generation_,
                  format == ExpositionFormat::openmetrics ? "openmetrics" : "prometheus text",
                  gzip ? " (gzip)" : "", v.body->size());
  });
  return v.body;
}

Publisher::Publisher(const Options& options, SelfMetrics& self,
                     std::vector<std::string> input_names, OtlpExporter* exporter)
    : options_(options),
      self_(self),
      names_(std::move(input_names)),
      latest_(names_.size()),
      exporter_(exporter) {}

std::shared_ptr<const Exposition> Publisher::current() const {
  std::lock_guard lock(current_mu_);
  return current_;
}

void Publisher::publish(std::size_t input, std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  std::int64_t now = now_ms();
  if (snapshot->duplicates > 0)
    spdlog::warn("{}: {} duplicate series in one snapshot (e.g. {}); the last sample of each "
                 "was kept",
                 names_[input], snapshot->duplicates, snapshot->first_duplicate);
  self_.published(input, snapshot->size(), snapshot->duplicates, now);
  latest_[input] = std::move(snapshot);

  std::vector<std::shared_ptr<const Snapshot>> all = latest_;
  if (options_.with_self_metrics()) all.push_back(self_.snapshot());
  bool otlp = exporter_ || (options_.otlp_json && options_.to_stdout());
  std::vector<std::shared_ptr<const Snapshot>> otlp_snapshots;
  if (otlp) otlp_snapshots = all;
  // With --listen the merge lives on in the Exposition the server sends;
  // otherwise it is rendered right here and dropped.
  std::shared_ptr<const Exposition> expo;
  MergedView local;
  if (!options_.listen.empty())
    expo = std::make_shared<const Exposition>(std::move(all), options_.timestamps,
                                              ++generation_, now);
  else
    local = merge_snapshots(raw_pointers(all));
  const MergedView& view = expo ? expo->view() : local;
  for (const auto& name : view.conflicts)
    if (warned_conflicts_.insert(name).second)
      spdlog::warn("metric \"{}\" has different types in different inputs; kept the first "
                   "input's and dropped the rest",
                   name);
  for (const auto& name : view.clashes)
    if (warned_conflicts_.insert(name).second)
      spdlog::warn("metric \"{}\" has the name of a histogram's series (_bucket, _sum or "
                   "_count); dropped it, kept the histogram",
                   name);

  // OTLP needs every merge, in order: counters keep their start times and
  // vanished series are marked from one to the next.
  std::shared_ptr<const OtlpBatch> batch;
  if (otlp) batch = otlp_series_.next(view, std::move(otlp_snapshots), now);

  if (options_.to_stdout()) {
    if (options_.otlp_json) write_stdout_otlp(*batch);
    else write_stdout(view);
  }
  if (!options_.textfile.empty()) write_textfile(view);
  if (exporter_) exporter_->enqueue(std::move(batch));
  if (expo) {
    std::lock_guard cur(current_mu_);
    current_ = std::move(expo);
  }
}

bool Publisher::close(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(timeout)) return false;
  closed_ = true;
  return true;
}

void Publisher::write_stdout(const MergedView& view) {
  RenderBuffer out([](std::string_view chunk) { write_all(STDOUT_FILENO, chunk); });
  render(view, {options_.format, options_.timestamps}, out);
}

void Publisher::write_stdout_otlp(const OtlpBatch& batch) {
  // One ExportMetricsServiceRequest per line; an empty merge is an empty one.
  std::vector<std::string> bodies = encode_otlp(batch, options_.otlp.resource, OtlpEncoding::json);
  write_all(STDOUT_FILENO, bodies.empty() ? std::string_view("{}") : std::string_view(bodies.front()));
  write_all(STDOUT_FILENO, "\n");
}

void Publisher::write_textfile(const MergedView& view) {
  try {
    // node_exporter skips a whole file that has timestamps: never write them.
    replace_file_atomically(options_.textfile, 0644, [&](const WriteChunk& write) {
      RenderBuffer out([&](std::string_view chunk) { write(chunk); });
      render(view, {ExpositionFormat::prometheus_text, false}, out);
    });
    textfile_failed_ = false;
  } catch (const std::runtime_error& e) {
    textfile_failed_ = true;
    self_.textfile_error();
    spdlog::error("{}", e.what());
  }
}

}  // namespace kv::promfmt

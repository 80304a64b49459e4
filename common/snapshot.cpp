#include "snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace kv {

namespace {
constexpr std::size_t kArenaChunk = 1 << 20;

std::size_t escaped_size(std::string_view value) {
  std::size_t n = value.size();
  for (char c : value)
    if (c == '\\' || c == '"' || c == '\n') ++n;
  return n;
}

char* write_escaped(char* out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': *out++ = '\\'; *out++ = '\\'; break;
      case '"': *out++ = '\\'; *out++ = '"'; break;
      case '\n': *out++ = '\\'; *out++ = 'n'; break;
      default: *out++ = c;
    }
  }
  return out;
}

std::size_t rendered_labels_size(const std::vector<LabelPair>& labels) {
  std::size_t n = 0, count = 0;
  for (const auto& [name, value] : labels) {
    if (value.empty()) continue;
    n += name.size() + 3 + escaped_size(value);
    ++count;
  }
  return count == 0 ? 0 : n + 2 + count - 1;  // braces and commas
}

char* write_labels(char* out, const std::vector<LabelPair>& labels) {
  *out++ = '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (value.empty()) continue;
    if (!first) *out++ = ',';
    first = false;
    std::memcpy(out, name.data(), name.size());
    out += name.size();
    *out++ = '=';
    *out++ = '"';
    out = write_escaped(out, value);
    *out++ = '"';
  }
  *out++ = '}';
  return out;
}
}  // namespace

void Arena::new_chunk(std::size_t size) {
  std::size_t chunk = std::max(size, kArenaChunk);
  chunks_.push_back(std::make_unique<char[]>(chunk));  // aligned for any type
  cursor_ = chunks_.back().get();
  chunk_left_ = chunk;
}

char* Arena::allocate(std::size_t size) {
  if (size > chunk_left_) new_chunk(size);
  char* p = cursor_;
  cursor_ += size;
  chunk_left_ -= size;
  used_ += size;
  return p;
}

char* Arena::allocate_aligned(std::size_t size, std::size_t align) {
  // The bytes up to the next multiple of align (a power of two).
  std::size_t pad = (0 - reinterpret_cast<std::uintptr_t>(cursor_)) & (align - 1);
  if (size + pad > chunk_left_) new_chunk(size);  // which is aligned
  else allocate(pad);
  return allocate(size);
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  std::size_t at = out.size();
  out.resize(at + escaped_size(value));
  write_escaped(out.data() + at, value);
}

std::string render_labels(const std::vector<LabelPair>& labels) {
  std::string out(rendered_labels_size(labels), '\0');
  if (!out.empty()) write_labels(out.data(), labels);
  return out;
}

namespace {
// The byte at `i` of a rendered label set, ranked so that byte order becomes
// label-set order: the end of the set, of a value and of a name come before
// any character, and escapes rank as the character they stand for.
int label_rank(std::string_view s, std::size_t i) {
  auto unescaped = [](char e) { return static_cast<unsigned char>(e == 'n' ? '\n' : e); };
  std::size_t backslashes = 0;
  while (backslashes < i && s[i - 1 - backslashes] == '\\') ++backslashes;
  if (backslashes % 2 == 1) return 4 + unescaped(s[i]);  // the second byte of an escape
  char c = s[i];
  if (c == '\\') return 4 + unescaped(s[i + 1]);  // an escape: rank what it stands for
  if (c == '}') return 0;  // end of the set
  if (c == '"') return 1;  // end of a value
  if (c == ',') return 2;  // next label
  if (c == '=') return 3;  // end of a name
  return 4 + static_cast<unsigned char>(c);
}
}  // namespace

bool label_set_less(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  auto diff = std::mismatch(a.begin(), a.begin() + n, b.begin());
  std::size_t i = static_cast<std::size_t>(diff.first - a.begin());
  if (i == n) return a.size() < b.size();
  return label_rank(a, i) < label_rank(b, i);
}

std::optional<Reject> SnapshotBuilder::add(const SampleRecord& sample) {
  std::uint32_t index;
  auto it = family_index_.find(sample.name);
  if (it == family_index_.end()) {
    index = static_cast<std::uint32_t>(families_.size());
    family_index_.emplace(std::string(sample.name), index);
    families_.push_back({std::string(sample.name), sample.type, std::string(sample.help),
                         std::string(sample.unit)});
  } else {
    index = it->second;
    PendingFamily& family = families_[index];
    if (family.type != sample.type)
      return Reject{RejectReason::type_conflict,
                    "metric " + quote_for_message(sample.name) + " has type " +
                        std::string(to_string(sample.type)) + " but earlier samples of it had " +
                        std::string(to_string(family.type))};
    // The first non-empty help (and unit) of a family wins.
    if (family.help.empty() && !sample.help.empty()) family.help = sample.help;
    if (family.unit.empty() && !sample.unit.empty()) family.unit = sample.unit;
  }
  ++families_[index].count;

  std::size_t size = rendered_labels_size(sample.labels);
  std::string_view labels;
  if (size > 0) {
    char* p = arena_->allocate(size);
    write_labels(p, sample.labels);
    labels = std::string_view(p, size);
  }
  entries_.push_back({index, Series{labels, {sample.value}, sample.timestamp_ms.value_or(0),
                                    sample.timestamp_ms.has_value()}});
  if (sample.type == MetricType::histogram) {
    HistogramBucket* buckets = arena_->allocate_array<HistogramBucket>(sample.buckets.size());
    std::copy(sample.buckets.begin(), sample.buckets.end(), buckets);
    Histogram* h = arena_->allocate_array<Histogram>(1);
    *h = Histogram{sample.sum, sample.count, {buckets, sample.buckets.size()}};
    entries_.back().series.histogram = h;
  }
  return std::nullopt;
}

std::shared_ptr<Snapshot> SnapshotBuilder::finish(std::string producer) {
  auto snap = std::make_shared<Snapshot>();
  snap->producer = std::move(producer);

  // Families in name order, then series grouped by family (a stable counting
  // sort, so within a family the input order is kept for the duplicate rule).
  std::vector<std::uint32_t> order(families_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return families_[a].name < families_[b].name; });
  std::vector<std::uint32_t> offset(families_.size());
  std::uint32_t total = 0;
  for (std::uint32_t f : order) {
    offset[f] = total;
    total += families_[f].count;
  }
  snap->series.resize(total);
  {
    std::vector<std::uint32_t> cursor = offset;
    for (const Entry& e : entries_) snap->series[cursor[e.family]++] = e.series;
  }
  entries_.clear();  // keeps the capacity for the next snapshot

  auto by_labels = [](const Series& a, const Series& b) {
    return label_set_less(a.labels, b.labels);
  };
  std::uint32_t out = 0;
  snap->families.reserve(order.size());
  for (std::uint32_t f : order) {
    PendingFamily& pf = families_[f];
    auto first = snap->series.begin() + offset[f];
    auto last = first + pf.count;
    // Producers usually emit in order already; only sort when they did not.
    if (!std::is_sorted(first, last, by_labels)) std::stable_sort(first, last, by_labels);
    std::uint32_t begin = out;
    for (auto it = first; it != last; ++it) {
      if (out > begin && snap->series[out - 1].labels == it->labels) {
        if (snap->duplicates++ == 0) snap->first_duplicate = pf.name + std::string(it->labels);
        snap->series[out - 1] = *it;  // the last one wins
      } else {
        snap->series[out++] = *it;
      }
    }
    snap->families.push_back(
        {std::move(pf.name), pf.type, std::move(pf.help), std::move(pf.unit), begin, out});
  }
  snap->series.resize(out);
  snap->series.shrink_to_fit();
  snap->arena = std::move(*arena_);
  arena_ = std::make_unique<Arena>();
  families_.clear();
  family_index_.clear();
  return snap;
}

}  // namespace kv

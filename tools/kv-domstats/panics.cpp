#include "kv-domstats/panics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "metric_catalog.hpp"

namespace kv::domstats {

std::string_view to_string(PanicDetail detail) {
  return detail == PanicDetail::crashloaded ? "crashloaded" : "panicked";
}

std::optional<PanicDetail> panic_detail_from(std::string_view text) {
  if (text == "panicked") return PanicDetail::panicked;
  if (text == "crashloaded") return PanicDetail::crashloaded;
  return std::nullopt;
}

PanicLabels panic_labels(const std::optional<std::string>& info) {
  PanicLabels labels;
  if (!info) return labels;
  std::string_view text = *info;
  auto colon = text.find(':');
  std::string_view type = text.substr(0, colon);
  if (colon != std::string_view::npos && !type.empty() &&
      type.find_first_of(" \t") == std::string_view::npos)
    labels.type = std::string(type);
  // arg1='0x7e' (quotes optional), as libvirt formats Hyper-V's arguments.
  for (std::size_t at = text.find("arg1="); at != std::string_view::npos;
       at = text.find("arg1=", at + 1)) {
    if (at > 0 && std::isalnum(static_cast<unsigned char>(text[at - 1]))) continue;  // "xarg1="
    std::string_view v = text.substr(at + 5);
    if (!v.empty() && (v[0] == '\'' || v[0] == '"')) v.remove_prefix(1);
    if (!(v.starts_with("0x") || v.starts_with("0X"))) break;
    v.remove_prefix(2);
    std::uint64_t code = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), code, 16);
    if (ec == std::errc() && end != v.data() && code != 0) {
      char buf[24];
      auto [p, e] = std::to_chars(buf, buf + sizeof buf, code, 16);
      labels.bugcheck_code = "0x" + std::string(buf, p);
    }
    break;
  }
  return labels;
}

std::optional<std::string> panic_info_of_line(std::string_view line) {
  // libvirt: "<timestamp>: panic <type>: <details>".
  constexpr std::string_view kMark = ": panic ";
  auto at = line.find(kMark);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view info = line.substr(at + kMark.size());
  while (!info.empty() && (info.back() == '\r' || info.back() == '\n' || info.back() == ' '))
    info.remove_suffix(1);
  auto colon = info.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      info.substr(0, colon).find(' ') != std::string_view::npos)
    return std::nullopt;
  return std::string(info);
}

std::optional<std::string> read_panic_line(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + " is not a regular file");
  }
  auto size = static_cast<std::size_t>(st.st_size);
  std::size_t from = size > max_bytes ? size - max_bytes : 0;
  std::string text(size - from, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  // The last line that is a panic line; a cut first line is not trusted.
  std::string_view rest = text;
  if (from > 0) {
    auto nl = rest.find('\n');
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  while (!rest.empty()) {
    if (rest.back() == '\n') {
      rest.remove_suffix(1);
      continue;
    }
    auto nl = rest.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    if (auto info = panic_info_of_line(line)) return info;
    if (nl == std::string_view::npos) break;
    rest = rest.substr(0, nl);
  }
  return std::nullopt;
}

std::string domain_log_path(std::string_view tmpl, std::string_view uri, std::string_view domain) {
  std::string socket_dir;
  constexpr std::string_view kSocket = "socket=";
  if (auto q = uri.find('?'); q != std::string_view::npos) {
    std::string_view query = uri.substr(q + 1);
    for (std::size_t at = 0; at <= query.size();) {
      auto amp = query.find('&', at);
      std::string_view param = query.substr(at, amp == std::string_view::npos ? amp : amp - at);
      if (param.starts_with(kSocket)) {
        std::string_view path = param.substr(kSocket.size());
        if (auto slash = path.rfind('/'); slash != std::string_view::npos)
          socket_dir = std::string(path.substr(0, slash == 0 ? 1 : slash));
      }
      if (amp == std::string_view::npos) break;
      at = amp + 1;
    }
  }
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i).starts_with("{domain}")) {
      out += domain;
      i += 8;
    } else if (tmpl.substr(i).starts_with("{socket_dir}")) {
      out += socket_dir;
      i += 12;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

bool PanicCounter::observe(const PanicRecord& panic, std::int64_t now_ms) {
  auto id = kubevirt_identity(panic.domain);
  if (!id) return false;
  if (panic.detail == PanicDetail::panicked) {
    auto run = std::make_tuple(panic.source, panic.uuid.empty() ? panic.domain : panic.uuid, panic.id);
    auto [it, first] = panicked_runs_.try_emplace(run, now_ms);
    it->second = now_ms;
    if (!first) return false;
  }
  PanicLabels labels = panic_labels(panic.info);
  Vm& vm = vms_[{id->ns, id->name}];
  ++vm.counts[{labels.type, labels.bugcheck_code}];
  vm.last_seen_ms = std::max(vm.last_seen_ms, now_ms);
  return true;
}

void PanicCounter::seen(const VmIdentity& id, std::int64_t now_ms) {
  auto it = vms_.find({id.ns, id.name});
  if (it != vms_.end()) it->second.last_seen_ms = std::max(it->second.last_seen_ms, now_ms);
}

void PanicCounter::expire(std::int64_t now_ms) {
  std::erase_if(vms_, [&](const auto& e) { return now_ms - e.second.last_seen_ms > keep_ms_; });
  std::erase_if(panicked_runs_, [&](const auto& e) { return now_ms - e.second > keep_ms_; });
}

void PanicCounter::emit(const SampleSink& sink) const {
  for (const auto& [key, vm] : vms_) {
    for (const auto& [labels, count] : vm.counts) {
      sink(catalog_sample<SampleOut>(MetricId::kubevirt_vmi_guest_os_panic_total,
                                     SampleOut::Labels{{"namespace", key.first},
                                                       {"name", key.second},
                                                       {"type", labels.first},
                                                       {"bugcheck_code", labels.second}},
                                     static_cast<double>(count)));
    }
  }
}

}  // namespace kv::domstats

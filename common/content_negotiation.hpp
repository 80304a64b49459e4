// HTTP content negotiation for /metrics: which exposition format and whether
// to gzip, from the Accept and Accept-Encoding headers (RFC 9110 q-values).
#pragma once

#include <string>
#include <string_view>

#include "exposition.hpp"

namespace kv {

struct Negotiated {
  ExpositionFormat format = ExpositionFormat::prometheus_text;
  std::string content_type;  // to send back, with any escaping= echoed
};

// Prefers what the client weighs highest; falls back to Prometheus text
// 0.0.4, which every scraper reads. OpenMetrics is chosen for
// application/openmetrics-text with version 1.0.0 or no version.
Negotiated negotiate_format(std::string_view accept);

// True when the client accepts gzip (or *) with q > 0.
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace kv

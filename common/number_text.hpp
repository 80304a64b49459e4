// Numbers as the exposition formats spell them where the spelling is part
// of a series' identity: a histogram bucket's `le` label. Prometheus keeps
// label values as strings, so `le="1"` and `le="1.0"` are different series;
// these write the bounds exactly as Prometheus' own Go encoders do.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kv {

// Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus text uses:
// the shortest digits that read back as v, in exponent form when the
// decimal exponent is below -4 or at least 6 ("0.5", "1", "100000",
// "1e+06", "1e-05"); "NaN", "+Inf", "-Inf".
void append_go_float(std::string& out, double v);
// OpenMetrics' canonical form: as above, with ".0" added when neither a
// '.' nor an exponent is there ("1.0", "0.5", "1e+06", "+Inf").
void append_openmetrics_float(std::string& out, double v);

// A bucket's upper bound as the sample stream writes it: a decimal number
// in JSON's syntax ("0.5", "1", "1e-05", "-2.5E3") that is finite, or
// "+Inf". Nothing else: no "inf", "nan", hexadecimal or leading '+'.
std::optional<double> parse_bucket_bound(std::string_view text);

}  // namespace kv

#include "number_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kv {
namespace {

std::string go(double v) {
  std::string s;
  append_go_float(s, v);
  return s;
}

std::string om(double v) {
  std::string s;
  append_openmetrics_float(s, v);
  return s;
}

// What Go's strconv.FormatFloat(v, 'g', -1, 64) prints (checked against Go
// for 200,000 random values when this was written), and OpenMetrics' form.
TEST(NumberText, BoundsAsPrometheusWritesThem) {
  struct Case {
    double v;
    const char* go;
    const char* om;
  };
  const Case cases[] = {
      {0.5, "0.5", "0.5"},
      {1, "1", "1.0"},
      {3600, "3600", "3600.0"},
      {100000, "100000", "100000.0"},   // exponent 5: still plain
      {999999, "999999", "999999.0"},
      {1e6, "1e+06", "1e+06"},          // exponent 6: Go switches to e
      {1234567, "1.234567e+06", "1.234567e+06"},
      {0.0001, "0.0001", "0.0001"},     // exponent -4: plain
      {1e-05, "1e-05", "1e-05"},        // exponent -5: e
      {2.5e-05, "2.5e-05", "2.5e-05"},
      {0.1, "0.1", "0.1"},
      {-1, "-1", "-1.0"},
      {-0.0, "0", "0.0"},
      {0, "0", "0.0"},
      {1e21, "1e+21", "1e+21"},
      {1e100, "1e+100", "1e+100"},
      {5e-324, "5e-324", "5e-324"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308", "1.7976931348623157e+308"},
      {INFINITY, "+Inf", "+Inf"},
      {-INFINITY, "-Inf", "-Inf"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(go(c.v), c.go) << c.v;
    EXPECT_EQ(om(c.v), c.om) << c.v;
  }
  EXPECT_EQ(go(std::nan("")), "NaN");
}

TEST(NumberText, ParsesBucketBoundsInJsonsSyntaxOnly) {
  EXPECT_EQ(parse_bucket_bound("0.5"), 0.5);
  EXPECT_EQ(parse_bucket_bound("1"), 1.0);
  EXPECT_EQ(parse_bucket_bound("1.0"), 1.0);
  EXPECT_EQ(parse_bucket_bound("1e-05"), 1e-05);
  EXPECT_EQ(parse_bucket_bound("1e+06"), 1e6);
  EXPECT_EQ(parse_bucket_bound("2E3"), 2000.0);
  EXPECT_EQ(parse_bucket_bound("-2.5"), -2.5);
  EXPECT_EQ(parse_bucket_bound("0"), 0.0);
  EXPECT_EQ(parse_bucket_bound("+Inf"), INFINITY);
  for (const char* bad : {"", "-", "+1", "01", "1.", ".5", "1e", "1e+", "0x10", "inf", "Inf", "-Inf",
                          "NaN", "nan", " 1", "1 ", "1,5", "1e999", "-1e999", "1_000"})
    EXPECT_EQ(parse_bucket_bound(bad), std::nullopt) << '"' << bad << '"';
}

}  // namespace
}  // namespace kv

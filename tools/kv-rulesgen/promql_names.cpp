#include "kv-rulesgen/promql_names.hpp"

#include <initializer_list>

namespace kv::rulesgen {

namespace {

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

enum class Tok { ident, number, string, open_paren, close_paren, open_brace, close_brace,
                 open_bracket, close_bracket, other, end };

struct Token {
  Tok kind;
  std::string_view text;
  std::size_t offset;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Next token; on a lexing error, kind is `end` and error() is set.
  Token next() {
    skip_space();
    if (pos_ >= s_.size()) return {Tok::end, {}, pos_};
    std::size_t start = pos_;
    char c = s_[pos_];
    if (c == '"' || c == '\'' || c == '`') {
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != c) {
        if (s_[pos_] == '\\' && c != '`') ++pos_;
        ++pos_;
      }
      if (pos_ >= s_.size()) {
        fail("unterminated string", start);
        return {Tok::end, {}, start};
      }
      ++pos_;
      return {Tok::string, s_.substr(start, pos_ - start), start};
    }
    if (digit(c) || (c == '.' && pos_ + 1 < s_.size() && digit(s_[pos_ + 1]))) {
      // Numbers, hex numbers, exponents and durations (5m, 1h30m) alike.
      while (pos_ < s_.size() && (ident_char(s_[pos_]) || s_[pos_] == '.')) {
        if ((s_[pos_] == 'e' || s_[pos_] == 'E') && pos_ + 1 < s_.size() &&
            (s_[pos_ + 1] == '+' || s_[pos_ + 1] == '-'))
          ++pos_;
        ++pos_;
      }
      return {Tok::number, s_.substr(start, pos_ - start), start};
    }
    if (ident_start(c)) {
      while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
      return {Tok::ident, s_.substr(start, pos_ - start), start};
    }
    ++pos_;
    switch (c) {
      case '(': return {Tok::open_paren, s_.substr(start, 1), start};
      case ')': return {Tok::close_paren, s_.substr(start, 1), start};
      case '{': return {Tok::open_brace, s_.substr(start, 1), start};
      case '}': return {Tok::close_brace, s_.substr(start, 1), start};
      case '[': return {Tok::open_bracket, s_.substr(start, 1), start};
      case ']': return {Tok::close_bracket, s_.substr(start, 1), start};
      default: break;
    }
    if (std::string_view("+-*/%^=!<>,@~").find(c) == std::string_view::npos) {
      fail(std::string("unexpected character '") + c + "'", start);
      return {Tok::end, {}, start};
    }
    return {Tok::other, s_.substr(start, 1), start};
  }

  // The next token, without taking it.
  Token peek() {
    std::size_t saved = pos_;
    Token t = next();
    pos_ = saved;
    return t;
  }

  const std::string& error() const { return error_; }
  std::size_t error_offset() const { return error_offset_; }

 private:
  void skip_space() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  void fail(std::string message, std::size_t at) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_offset_ = at;
    }
    pos_ = s_.size();
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
  std::size_t error_offset_ = 0;
};

bool one_of(std::string_view word, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (word == w) return true;
  return false;
}

// Words followed by a parenthesised list of label names.
bool takes_label_list(std::string_view w) {
  return one_of(w, {"by", "without", "on", "ignoring", "group_left", "group_right"});
}

bool is_keyword(std::string_view w) {
  return one_of(w, {"and", "or", "unless", "bool", "offset", "atan2"});
}

bool is_number_word(std::string_view w) {
  std::string lower;
  for (char c : w) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return lower == "inf" || lower == "nan";
}

}  // namespace

MetricScan scan_metric_names(std::string_view expr) {
  MetricScan scan;
  Lexer lex(expr);
  std::vector<Token> open;  // unclosed brackets of all kinds
  auto fail = [&](std::string message, std::size_t at) {
    scan.error = std::move(message);
    scan.error_offset = at;
    return scan;
  };
  auto closes = [](Tok open_kind, Tok close_kind) {
    return (open_kind == Tok::open_paren && close_kind == Tok::close_paren) ||
           (open_kind == Tok::open_brace && close_kind == Tok::close_brace) ||
           (open_kind == Tok::open_bracket && close_kind == Tok::close_bracket);
  };
  // Skips a bracketed group whose opening token was just read, checking
  // only that it is closed; its content (labels, durations) names nothing.
  auto skip_group = [&](const Token& opening) -> bool {
    std::vector<Token> nested{opening};
    while (!nested.empty()) {
      Token t = lex.next();
      if (t.kind == Tok::end) return false;
      if (t.kind == Tok::open_paren || t.kind == Tok::open_brace || t.kind == Tok::open_bracket) {
        nested.push_back(t);
      } else if (t.kind == Tok::close_paren || t.kind == Tok::close_brace ||
                 t.kind == Tok::close_bracket) {
        if (!closes(nested.back().kind, t.kind)) return false;
        nested.pop_back();
      } else if (t.kind == Tok::ident && t.text == "__name__" && opening.kind == Tok::open_brace) {
        scan.error = "selects series by __name__, which cannot be checked; name the metric";
        scan.error_offset = t.offset;
        return false;
      }
    }
    return true;
  };

  for (;;) {
    Token t = lex.next();
    if (!scan.error.empty()) return scan;
    if (t.kind == Tok::end) break;
    switch (t.kind) {
      case Tok::open_paren:
        open.push_back(t);
        break;
      case Tok::open_brace:
      case Tok::open_bracket:
        if (!skip_group(t)) {
          if (!scan.error.empty()) return scan;
          if (!lex.error().empty()) return fail(lex.error(), lex.error_offset());
          return fail(std::string("unclosed '") + std::string(t.text) + "'", t.offset);
        }
        break;
      case Tok::close_paren:
      case Tok::close_brace:
      case Tok::close_bracket:
        if (open.empty() || !closes(open.back().kind, t.kind))
          return fail(std::string("unexpected '") + std::string(t.text) + "'", t.offset);
        open.pop_back();
        break;
      case Tok::ident: {
        if (takes_label_list(t.text)) {
          Token after = lex.peek();
          if (after.kind == Tok::open_paren) {
            lex.next();
            if (!skip_group(after)) return fail("unclosed '(' after " + std::string(t.text), after.offset);
          }
          break;
        }
        if (t.text == "offset") {
          Token after = lex.next();
          if (after.kind == Tok::other && after.text == "-") after = lex.next();
          if (after.kind != Tok::number) return fail("offset without a duration", t.offset);
          break;
        }
        if (is_keyword(t.text) || is_number_word(t.text)) break;
        Token after = lex.peek();
        if (after.kind == Tok::open_paren) break;  // a function or an aggregation
        if (after.kind == Tok::ident && (after.text == "by" || after.text == "without"))
          break;  // an aggregation with its grouping first
        scan.metrics.push_back({std::string(t.text), t.offset});
        break;
      }
      default:
        break;
    }
  }
  if (!lex.error().empty()) return fail(lex.error(), lex.error_offset());
  if (!open.empty()) return fail("unclosed '('", open.back().offset);
  return scan;
}

}  // namespace kv::rulesgen

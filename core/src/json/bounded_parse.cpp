#include "json/bounded_parse.h"

#include <iterator>

namespace waflow::core::json_input {
namespace {

// Thrown from the parser callback to stop at the first container too deep; carries no
// allocation so it is cheap whatever the input.
struct TooDeep {};

// A byte iterator that records how far the parser has read, so a refusal raised inside the
// parser's callback can name its byte offset.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, const char** furthest) : at_(at), furthest_(furthest) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    *furthest_ = ++at_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** furthest_;
};

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
// column 5: "; the byte offset is given separately, so keep what follows.
std::string problem(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (auto bracket = what.find("] ");
      what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) {
    what.erase(0, bracket + 2);
  }
  return what;
}

std::string syntaxProblem(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  if (auto colon = what.find(": "); colon != std::string::npos) {
    what.erase(0, colon + 2);
  }
  return what;
}

}  // namespace

BoundedJson parseBounded(std::string_view text, const JsonLimits& limits) {
  BoundedJson out;
  if (text.size() > limits.max_bytes) {
    out.offset = limits.max_bytes;
    out.error = "JSON of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                std::to_string(limits.max_bytes) + " bytes";
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
    return out;
  }
  const char* furthest = text.data();
  // The callback sees each container open with the number of containers around it.
  auto callback = [&limits](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        static_cast<std::size_t>(depth) >= limits.max_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    out.value =
        nlohmann::json::parse(CountingIterator(text.data(), &furthest),
                              CountingIterator(text.data() + text.size(), &furthest), callback);
  } catch (const TooDeep&) {
    // The parser has just read the '{' or '[' that opened one level too many.
    out.offset = furthest > text.data() ? static_cast<std::size_t>(furthest - text.data()) - 1 : 0;
    out.error = "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels at byte " +
                std::to_string(out.offset);
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  } catch (const nlohmann::json::parse_error& e) {
    out.offset = e.byte > 0 ? e.byte - 1 : 0;
    out.error = "not valid JSON at byte " + std::to_string(out.offset) + ": " + syntaxProblem(e);
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  } catch (const nlohmann::json::exception& e) {
    // Not a parse_error, yet the parser's: a number too large for a double ("1e999") is
    // out_of_range 406. Found by storage_describe_fuzz; every caller expects a refusal here,
    // never an exception.
    out.offset = furthest > text.data() ? static_cast<std::size_t>(furthest - text.data()) - 1 : 0;
    out.error = "not valid JSON at byte " + std::to_string(out.offset) + ": " + problem(e);
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return out;
}

nlohmann::json parseOrDiscarded(std::string_view text, const JsonLimits& limits) {
  return parseBounded(text, limits).value;
}

}  // namespace waflow::core::json_input

#include "flow/spintax.h"

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

namespace waflow::core::flow {
namespace {

// Deeper nesting than any message needs is copied as it is, which bounds the recursion.
constexpr int kMaxDepth = 32;

// Where the `{{` at `open` ends (just past its `}}`), or npos when it is not closed.
size_t endOfDoubleBraces(std::string_view text, size_t open) {
  const size_t close = text.find("}}", open + 2);
  return close == std::string_view::npos ? close : close + 2;
}

bool startsDoubleBraces(std::string_view text, size_t pos) {
  return pos + 1 < text.size() && text[pos] == '{' && text[pos + 1] == '{';
}

struct Group {
  size_t close = 0;          // offset of the closing '}'
  std::vector<size_t> bars;  // offsets of the '|' at the group's own level
};

// The group opened by the '{' at `open`, if it is closed.
std::optional<Group> findGroup(std::string_view text, size_t open) {
  Group group;
  int depth = 0;
  size_t pos = open;
  while (pos < text.size()) {
    const char c = text[pos];
    if (pos > open && startsDoubleBraces(text, pos)) {
      const size_t end = endOfDoubleBraces(text, pos);
      if (end != std::string_view::npos) {
        pos = end;  // a template expression is text, whatever it contains
        continue;
      }
    }
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) {
        group.close = pos;
        return group;
      }
    } else if (c == '|' && depth == 1) {
      group.bars.push_back(pos);
    }
    ++pos;
  }
  return std::nullopt;
}

void render(std::string_view text, const std::function<size_t(size_t)>& pick, int depth,
            std::string& out) {
  if (depth > kMaxDepth) {
    out += text;
    return;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find('{', pos);
    if (open == std::string_view::npos) {
      out += text.substr(pos);
      return;
    }
    out += text.substr(pos, open - pos);
    if (startsDoubleBraces(text, open)) {
      const size_t end = endOfDoubleBraces(text, open);
      const size_t literal_end = end == std::string_view::npos ? open + 2 : end;
      out += text.substr(open, literal_end - open);
      pos = literal_end;
      continue;
    }
    const std::optional<Group> group = findGroup(text, open);
    if (!group || group->bars.empty()) {
      // Not spintax: keep the brace and look for groups inside it.
      out += '{';
      pos = open + 1;
      continue;
    }
    const size_t choices = group->bars.size() + 1;
    const size_t chosen = std::min(pick(choices), choices - 1);
    const size_t begin = chosen == 0 ? open + 1 : group->bars[chosen - 1] + 1;
    const size_t end = chosen == choices - 1 ? group->close : group->bars[chosen];
    render(text.substr(begin, end - begin), pick, depth + 1, out);
    pos = group->close + 1;
  }
}

}  // namespace

std::string renderSpintax(std::string_view text, const std::function<size_t(size_t)>& pick) {
  std::string out;
  out.reserve(text.size());
  render(text, pick, 0, out);
  return out;
}

std::string renderSpintax(std::string_view text) {
  thread_local std::mt19937 generator{std::random_device{}()};
  return renderSpintax(
      text, [](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(generator); });
}

}  // namespace waflow::core::flow

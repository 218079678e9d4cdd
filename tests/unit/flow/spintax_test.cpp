#include "flow/spintax.h"

#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace waflow::core::flow {
namespace {

// Picks the given indices in order, recording how many choices each group had.
struct ScriptedPick {
  std::vector<size_t> answers;
  std::vector<size_t> asked;  // n of each call

  std::function<size_t(size_t)> fn() {
    return [this](size_t n) {
      asked.push_back(n);
      const size_t i = asked.size() - 1;
      return i < answers.size() ? answers[i] : 0;
    };
  }
};

std::string render(std::string_view text, std::vector<size_t> answers) {
  ScriptedPick pick{std::move(answers), {}};
  return renderSpintax(text, pick.fn());
}

TEST(SpintaxTest, PicksOneChoice) {
  EXPECT_EQ(render("{Halo|Hai|Selamat datang} kak!", {0}), "Halo kak!");
  EXPECT_EQ(render("{Halo|Hai|Selamat datang} kak!", {1}), "Hai kak!");
  EXPECT_EQ(render("{Halo|Hai|Selamat datang} kak!", {2}), "Selamat datang kak!");
  EXPECT_EQ(render("{a|b} dan {c|d}", {1, 0}), "b dan c");
  EXPECT_EQ(render("Tanpa spintax", {}), "Tanpa spintax");
  EXPECT_EQ(render("", {}), "");
}

TEST(SpintaxTest, AsksPickForTheNumberOfChoices) {
  ScriptedPick pick{{2, 1}, {}};
  EXPECT_EQ(renderSpintax("{a|b|c} {x|y}", pick.fn()), "c y");
  EXPECT_EQ(pick.asked, (std::vector<size_t>{3, 2}));
}

TEST(SpintaxTest, EmptyChoices) {
  EXPECT_EQ(render("Halo {kak |}Rina", {0}), "Halo kak Rina");
  EXPECT_EQ(render("Halo {kak |}Rina", {1}), "Halo Rina");
  EXPECT_EQ(render("{|}", {0}), "");
}

TEST(SpintaxTest, NestedGroups) {
  ScriptedPick pick{{1, 0}, {}};
  EXPECT_EQ(renderSpintax("{a|{b|c}}", pick.fn()), "b");
  // Only the chosen branch's groups are rendered, outermost first.
  EXPECT_EQ(pick.asked, (std::vector<size_t>{2, 2}));
  EXPECT_EQ(render("{a|{b|c}}", {1, 1}), "c");
  ScriptedPick outer_only{{0}, {}};
  EXPECT_EQ(renderSpintax("{a|{b|c}}", outer_only.fn()), "a");
  EXPECT_EQ(outer_only.asked, (std::vector<size_t>{2}));
  EXPECT_EQ(render("{Halo|{Hai|Hey} {kak|bro}}!", {1, 1, 0}), "Hey kak!");
  EXPECT_EQ(render("{{Hai|Hey} kak|Halo}", {}), "{{Hai|Hey} kak|Halo}");
}

TEST(SpintaxTest, BracesWithoutChoicesAreText) {
  EXPECT_EQ(render("Kode {promo} berlaku", {}), "Kode {promo} berlaku");
  EXPECT_EQ(render(R"(data: {"a": 1, "b": [2]})", {}), R"(data: {"a": 1, "b": [2]})");
  EXPECT_EQ(render("{}", {}), "{}");
  // A group inside a brace without choices is still rendered.
  EXPECT_EQ(render("{x {a|b}}", {1}), "{x b}");
  EXPECT_EQ(render("a | b", {}), "a | b");
}

TEST(SpintaxTest, UnbalancedBracesAreText) {
  EXPECT_EQ(render("{a|b", {}), "{a|b");
  EXPECT_EQ(render("a|b}", {}), "a|b}");
  EXPECT_EQ(render("}{a|b}{", {1}), "}b{");
  EXPECT_EQ(render("{a|{b|c}", {1}), "{a|c");
  EXPECT_EQ(render("{{a|b}", {}), "{{a|b}");
}

TEST(SpintaxTest, DoubleBracesAreLeftAlone) {
  EXPECT_EQ(render("Halo {{ contact.name }}", {}), "Halo {{ contact.name }}");
  EXPECT_EQ(render("{{ a or 'x|y' }} {Hai|Halo}", {1}), "{{ a or 'x|y' }} Halo");
  EXPECT_EQ(render("{Halo {{name}}|Hai}", {0}), "Halo {{name}}");
  EXPECT_EQ(render("{Halo|Hai {{ name }}}", {1}), "Hai {{ name }}");
  EXPECT_EQ(render("}} a {{", {}), "}} a {{");
}

TEST(SpintaxTest, OutOfRangePickTakesTheLastChoice) {
  EXPECT_EQ(render("{a|b|c}", {7}), "c");
}

TEST(SpintaxTest, DeepNestingIsBounded) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "{x|";
  }
  text += "y";
  text += std::string(2000, '}');
  // Always the last choice, the nested group: 33 levels are rendered, the rest is kept as text.
  const std::string out = renderSpintax(text, [](size_t n) { return n - 1; });
  std::string expected;
  for (int i = 0; i < 2000 - 33; ++i) {
    expected += "{x|";
  }
  expected += "y" + std::string(2000 - 33, '}');
  EXPECT_EQ(out, expected);
}

TEST(SpintaxTest, RandomOverloadUsesEveryChoice) {
  std::set<std::string> seen;
  for (int i = 0; i < 200 && seen.size() < 3; ++i) {
    seen.insert(renderSpintax("{a|b|c}"));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(renderSpintax("Kode {promo}"), "Kode {promo}");
}

}  // namespace
}  // namespace waflow::core::flow

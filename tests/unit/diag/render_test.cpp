#include "diag/render.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace waflow::core::diag {
namespace {

Diagnostic make(int line, int column, int length, std::string message, std::string hint = {}) {
  Diagnostic d;
  d.file = "waflow.yaml";
  d.line = line;
  d.column = column;
  d.length = length;
  d.kind = "config-schema";
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string twelveLines() {
  std::string text;
  for (int i = 1; i <= 11; ++i) {
    text += "line" + std::to_string(i) + ":\n";
  }
  text += "    chanels:\n";
  return text;
}

TEST(RenderText, ActionlintStyleSnippetWithCaretAndTildes) {
  SourceCache sources;
  sources.registerText("waflow.yaml", twelveLines());
  const std::string out =
      renderText({make(12, 5, 7, "unknown key 'chanels'", "did you mean 'channels'?")}, sources);
  EXPECT_EQ(out,
            "waflow.yaml:12:5: unknown key 'chanels' (did you mean 'channels'?) [config-schema]\n"
            "   |\n"
            "12 |     chanels:\n"
            "   |     ^~~~~~~\n");
}

TEST(RenderText, PlainCaretWhenLengthUnknownAndNarrowGutterForShortLineNumbers) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "server:\n  port: abc\n");
  const std::string out = renderText({make(2, 9, 0, "bad")}, sources);
  EXPECT_EQ(out,
            "waflow.yaml:2:9: bad [config-schema]\n"
            "  |\n"
            "2 |   port: abc\n"
            "  |         ^\n");
}

TEST(RenderText, QuotedStringExtentIsUnderlinedWhenLengthUnknown) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "level: \"verb\\\"ose\" # x\n");
  const std::string out = renderText({make(1, 8, 0, "bad")}, sources);
  // The token "verb\"ose" with its quotes is 11 characters.
  EXPECT_NE(out.find("1 | level: \"verb\\\"ose\" # x\n  |        ^" + std::string(10, '~') + "\n"),
            std::string::npos)
      << out;
}

TEST(RenderText, CaretLinesUpAfterTabsAndMultiByteCharacters) {
  SourceCache sources;
  // "é" is two bytes: the token "x" starts at byte column 6 but display column 5.
  sources.registerText("f.yaml", "\t\"é\": x\n");
  Diagnostic d = make(1, 7, 1, "bad");
  d.file = "f.yaml";
  const std::string out = renderText({d}, sources);
  EXPECT_NE(out.find("  | \t    ^\n"), std::string::npos) << out;
}

TEST(RenderText, WithoutSourceOrPositionPrintsOnlyTheHeader) {
  SourceCache sources;
  Diagnostic no_line = make(0, 0, 0, "config file 'x' not found");
  no_line.file = "x";
  no_line.kind = "config-file";
  Diagnostic unreadable = make(3, 1, 0, "bad");
  unreadable.file = "/nonexistent/dir/waflow.yaml";
  EXPECT_EQ(renderText({no_line, unreadable}, sources),
            "x: config file 'x' not found [config-file]\n"
            "/nonexistent/dir/waflow.yaml:3:1: bad [config-schema]\n");
}

TEST(RenderText, LineWithoutColumnShowsSnippetWithoutCaret) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "a: 1\n");
  EXPECT_EQ(renderText({make(1, 0, 0, "whole line")}, sources),
            "waflow.yaml:1: whole line [config-schema]\n"
            "  |\n"
            "1 | a: 1\n");
}

TEST(RenderText, WarningsAreLabelled) {
  SourceCache sources;
  Diagnostic d = make(0, 0, 0, "plain secret");
  d.severity = Severity::kWarning;
  d.kind = "config-secret";
  EXPECT_EQ(renderText({d}, sources), "waflow.yaml: warning: plain secret [config-secret]\n");
}

TEST(RenderText, SecretsAreMaskedInTheSnippetWithTheCaretOnTheMask) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "config:\n  access_token: EAAGsecret123  # prod\n");
  text::Redactor secrets;
  secrets.add("EAAGsecret123");
  Diagnostic d = make(2, 17, 12, "config.access_token: secret written in the file in plain text");
  d.severity = Severity::kWarning;
  d.kind = "config-secret";
  EXPECT_EQ(renderText({d}, sources, &secrets),
            "waflow.yaml:2:17: warning: config.access_token: secret written in the file in plain "
            "text [config-secret]\n"
            "  |\n"
            "2 |   access_token: ***  # prod\n"
            "  |                 ^~~\n");
}

TEST(RenderText, TheCaretFollowsItsTokenPastAMaskedSecret) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "x: {token: hunter2hunter2, timeout: 5 parsecs}\n");
  text::Redactor secrets;
  secrets.add("hunter2hunter2");
  // The caret was under '5 parsecs' (column 37): it moves left with the shorter mask.
  EXPECT_EQ(renderText({make(1, 37, 9, "x.timeout: bad duration")}, sources, &secrets),
            "waflow.yaml:1:37: x.timeout: bad duration [config-schema]\n"
            "  |\n"
            "1 | x: {token: ***, timeout: 5 parsecs}\n"
            "  |                          ^~~~~~~~~\n");
  // A marker that starts inside the secret covers the mask.
  EXPECT_EQ(renderText({make(1, 14, 3, "m")}, sources, &secrets),
            "waflow.yaml:1:14: m [config-schema]\n"
            "  |\n"
            "1 | x: {token: ***, timeout: 5 parsecs}\n"
            "  |            ^~~\n");
}

TEST(RenderText, SecretsInMessagesAndHintsAreMasked) {
  SourceCache sources;
  text::Redactor secrets;
  secrets.add("hunter2hunter2");
  EXPECT_EQ(
      renderText({make(0, 0, 0, "got 'hunter2hunter2'", "not hunter2hunter2")}, sources, &secrets),
      "waflow.yaml: got '***' (not ***) [config-schema]\n");
}

TEST(SourceCache, ReadsFilesLazilyAndHandlesCrlf) {
  char path[] = "/tmp/waflow_diag_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << "first\r\nsecond\n";
  }
  SourceCache sources;
  EXPECT_EQ(sources.line(path, 1).value_or("?"), "first");
  EXPECT_EQ(sources.line(path, 2).value_or("?"), "second");
  EXPECT_FALSE(sources.line(path, 3).has_value());
  EXPECT_FALSE(sources.line(path, 0).has_value());
  std::remove(path);
  // Cached: still readable after the file is gone.
  EXPECT_EQ(sources.line(path, 2).value_or("?"), "second");
  EXPECT_FALSE(sources.line("/nonexistent/file.yaml", 1).has_value());
}

TEST(RenderJson, EmitsOneObjectPerDiagnosticWithSnippet) {
  SourceCache sources;
  sources.registerText("waflow.yaml", twelveLines());
  Diagnostic warning = make(0, 0, 0, "w");
  warning.severity = Severity::kWarning;
  const nlohmann::json parsed = nlohmann::json::parse(renderJson(
      {make(12, 5, 7, "unknown key 'chanels'", "did you mean 'channels'?"), warning}, sources));
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 2u);
  const nlohmann::json& first = parsed[0];
  EXPECT_EQ(first["file"], "waflow.yaml");
  EXPECT_EQ(first["line"], 12);
  EXPECT_EQ(first["column"], 5);
  EXPECT_EQ(first["length"], 7);
  EXPECT_EQ(first["severity"], "error");
  EXPECT_EQ(first["kind"], "config-schema");
  EXPECT_EQ(first["message"], "unknown key 'chanels'");
  EXPECT_EQ(first["hint"], "did you mean 'channels'?");
  EXPECT_EQ(first["snippet"], "    chanels:");
  EXPECT_EQ(parsed[1]["severity"], "warning");
  EXPECT_EQ(parsed[1]["snippet"], "");
}

TEST(RenderJson, SecretsAreMaskedInSnippetMessageAndHint) {
  SourceCache sources;
  sources.registerText("waflow.yaml", "acces_token: EAAGsecret123\n");
  text::Redactor secrets;
  secrets.add("EAAGsecret123");
  const std::string out =
      renderJson({make(1, 1, 11, "unknown key 'acces_token' near EAAGsecret123", "EAAGsecret123")},
                 sources, &secrets);
  EXPECT_EQ(out.find("EAAGsecret123"), std::string::npos) << out;
  const nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed[0]["snippet"], "acces_token: ***");
  EXPECT_EQ(parsed[0]["message"], "unknown key 'acces_token' near ***");
  EXPECT_EQ(parsed[0]["hint"], "***");
  EXPECT_EQ(parsed[0]["column"], 1);  // positions keep pointing into the file
}

TEST(RenderJson, EmptyListIsEmptyArray) {
  SourceCache sources;
  EXPECT_EQ(nlohmann::json::parse(renderJson({}, sources)), nlohmann::json::array());
}

}  // namespace
}  // namespace waflow::core::diag

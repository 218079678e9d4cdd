#include "flow/flow_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "diag/source_cache.h"

#include "flow_test_support.h"
#include "regressions.h"

namespace waflow::core::flow {
namespace {

using testing::fixtureOptions;
using testing::fixtures;
using time::CivilTime;

const Flow& findFlow(const FlowLoadResult& result, std::string_view id) {
  for (const Flow& flow : result.flows) {
    if (flow.id == id) {
      return flow;
    }
  }
  throw std::runtime_error("no flow " + std::string(id));
}

const Step& step(const Flow& flow, std::string_view id) {
  const Step* found = flow.findStep(id);
  if (found == nullptr) {
    throw std::runtime_error("no step " + std::string(id));
  }
  return *found;
}

FlowLoadResult loadText(const std::string& text, FlowLoadOptions options = fixtureOptions()) {
  return loadFlowSources({{"flows/test.yaml", text}}, options);
}

std::string dump(const FlowLoadResult& result) {
  std::string out;
  for (const diag::Diagnostic& d : result.diagnostics) {
    out += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.text() + " [" +
           d.kind + "]\n";
  }
  return out;
}

class ValidFixturesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    result_ = new FlowLoadResult(loadFlows(fixtures() / "valid", fixtureOptions()));
  }
  static void TearDownTestSuite() {
    delete result_;
    result_ = nullptr;
  }
  static FlowLoadResult* result_;
};
FlowLoadResult* ValidFixturesTest::result_ = nullptr;

TEST_F(ValidFixturesTest, CustomerServiceModel) {
  ASSERT_TRUE(result_->ok()) << dump(*result_);
  const Flow& flow = findFlow(*result_, "customer-service");
  EXPECT_EQ(flow.mode, Mode::kQueued);
  EXPECT_EQ(flow.max, 5);
  EXPECT_EQ(flow.pos.line, 2);

  ASSERT_EQ(flow.triggers.size(), 1u);
  const Trigger& trigger = flow.triggers[0];
  EXPECT_EQ(trigger.id, "any_message");
  EXPECT_EQ(trigger.kind, "message.received");
  EXPECT_EQ(trigger.pos.line, 11);
  const auto& received = std::get<MessageReceivedTrigger>(trigger.spec);
  EXPECT_EQ(received.channels, std::vector<std::string>{"toko-utama"});
  EXPECT_EQ(received.message_type, "text");

  ASSERT_EQ(flow.conditions.size(), 1u);
  const auto& conversation = std::get<ConversationCondition>(flow.conditions[0].spec);
  EXPECT_EQ(conversation.in_handoff, false);
  EXPECT_FALSE(conversation.in_flow.has_value());

  const Step& intent = step(flow, "intent");
  EXPECT_EQ(intent.kind, "classify");
  EXPECT_EQ(intent.timeout_ms, 10000);
  EXPECT_EQ(intent.retry.attempts, 2);
  EXPECT_EQ(intent.retry.backoff_ms, 1000);
  EXPECT_EQ(intent.on_error.action, OnErrorAction::kGoto);
  EXPECT_EQ(intent.on_error.step, "fallback");
  const auto& classify = std::get<ClassifyStep>(intent.spec);
  EXPECT_EQ(classify.providers, std::vector<std::string>{"bot"});
  ASSERT_EQ(classify.categories.size(), 5u);
  EXPECT_EQ(classify.categories[0].first, "price");  // the file's order, not alphabetical
  EXPECT_EQ(classify.categories[4].first, "other");
  EXPECT_EQ(classify.categories[3].second, "wants to talk to a person (admin, CS)");

  const auto& price = std::get<ReplyStep>(step(flow, "price_list").spec);
  ASSERT_TRUE(price.list.has_value());
  EXPECT_EQ(price.list->button, "Lihat menu");
  ASSERT_EQ(price.list->sections.size(), 2u);
  EXPECT_EQ(price.list->sections[1].rows[0].id, "nastar");
  EXPECT_EQ(price.footer.value, "Harga sudah termasuk kemasan");

  const auto& location = std::get<ReplyStep>(step(flow, "location").spec);
  ASSERT_TRUE(location.media.has_value());
  EXPECT_EQ(location.media->type, "image");
  EXPECT_EQ(location.media->caption.value, "Peta ke toko");

  const auto& handoff = std::get<HandoffStep>(step(flow, "to_human").spec);
  EXPECT_EQ(handoff.team, "cs");
  EXPECT_EQ(handoff.release_after_ms, 12 * 3600 * 1000);
  ASSERT_EQ(handoff.note.expressions.size(), 1u);
  EXPECT_EQ(handoff.note.expressions[0].code, "message.text");

  const auto& helpful = std::get<AskStep>(step(flow, "helpful").spec);
  ASSERT_EQ(helpful.buttons.size(), 2u);
  EXPECT_EQ(helpful.buttons[0].title, "Ya, membantu");
  EXPECT_EQ(helpful.retries, 0);
  EXPECT_EQ(step(flow, "helpful").on_error.action, OnErrorAction::kContinue);

  EXPECT_EQ(flow.steps.back().id, "fallback");
  EXPECT_EQ(std::get<StopStep>(step(flow, "done").spec).reason, "");
}

TEST_F(ValidFixturesTest, SnippetsCarryTheirExactPositions) {
  const Flow& flow = findFlow(*result_, "customer-service");
  // Line 19:     if: "contact.attributes.greeted ~= true"
  const Step& greet = step(flow, "greet");
  ASSERT_TRUE(greet.if_expression.has_value());
  EXPECT_EQ(greet.if_expression->code, "contact.attributes.greeted ~= true");
  EXPECT_EQ(greet.if_expression->kind, LuaSnippet::Kind::kExpression);
  EXPECT_EQ(greet.if_expression->line, 19);
  EXPECT_EQ(greet.if_expression->column, 10);
  EXPECT_EQ(greet.if_expression->file, (fixtures() / "valid" / "customer_service.yaml").string());
  // Line 20:     reply: "{Halo|Hai} {{ contact.name or 'Kak' }}! ..."
  const auto& reply = std::get<ReplyStep>(greet.spec);
  ASSERT_EQ(reply.text.expressions.size(), 1u);
  const LuaSnippet& name = reply.text.expressions[0];
  EXPECT_EQ(name.code, "contact.name or 'Kak'");
  EXPECT_EQ(name.kind, LuaSnippet::Kind::kTemplate);
  EXPECT_EQ(name.line, 20);
  EXPECT_EQ(name.column, 27);
  EXPECT_EQ(name.where, "step 'greet' (reply)");

  // Every snippet of the flow is listed once, in file order.
  size_t in_nodes = 0;
  for (const Step& s : flow.steps) {
    in_nodes += s.if_expression ? 1 : 0;
  }
  EXPECT_GT(flow.snippets.size(), in_nodes);
  for (size_t i = 1; i < flow.snippets.size(); ++i) {
    EXPECT_LE(flow.snippets[i - 1].line, flow.snippets[i].line);
  }
}

TEST_F(ValidFixturesTest, LeadOrderAndScheduledModels) {
  const Flow& lead = findFlow(*result_, "lead-qualification");
  const auto& guests = std::get<AskStep>(step(lead, "ask_guests").spec);
  EXPECT_EQ(guests.validate, AnswerKind::kNumber);
  EXPECT_EQ(guests.min, 10);
  EXPECT_EQ(guests.max, 2000);
  EXPECT_EQ(guests.save_as, "guests");
  EXPECT_EQ(step(lead, "ask_guests").timeout_ms, 3600000);
  const auto& follow_up = std::get<ScheduleStep>(step(lead, "follow_up").spec);
  EXPECT_EQ(follow_up.after_ms, 24 * 3600000);
  EXPECT_TRUE(follow_up.cancel_on_reply);
  EXPECT_TRUE(follow_up.reply.isTemplate());
  const auto& score = std::get<LuaStep>(step(lead, "score").spec);
  EXPECT_EQ(score.function, "score_lead");
  EXPECT_EQ(score.args["guests"], "{{ steps.ask_guests.output.answer }}");
  EXPECT_EQ(std::get<TagStep>(step(lead, "tag_lead").spec).tags,
            std::vector<std::string>{"lead-{{ steps.score.output }}"});

  const Flow& order = findFlow(*result_, "order-payment");
  EXPECT_EQ(order.mode, Mode::kRestart);
  const auto& http = std::get<HttpStep>(step(order, "create_payment").spec);
  EXPECT_EQ(http.method, "POST");
  EXPECT_EQ(http.url.value, "https://pay.example.co.id/v1/payment-links");
  ASSERT_EQ(http.headers.size(), 2u);
  EXPECT_EQ(http.headers[1].first, "Authorization");
  EXPECT_TRUE(http.body.is_object());
  EXPECT_EQ(http.body["quantity"], "{{ steps.quantity.output.answer }}");
  EXPECT_EQ(step(order, "create_payment").retry.attempts, 2);
  const auto& paid = std::get<WaitStep>(step(order, "paid").spec);
  EXPECT_EQ(paid.event, "payment.paid");
  ASSERT_TRUE(paid.match.has_value());
  EXPECT_EQ(paid.match->code, "event.order_id == steps.create_payment.output.body.order_id");
  const auto& product = std::get<AskStep>(step(order, "product").spec);
  EXPECT_EQ(product.validate, AnswerKind::kRegex);
  EXPECT_EQ(product.pattern, "^(kopi|teh)$");
  EXPECT_EQ(std::get<HandoffStep>(step(order, "ask_admin").spec).note.value,
            "Gagal membuat link pembayaran");

  const Flow& promo = findFlow(*result_, "weekly-promo");
  EXPECT_EQ(promo.mode, Mode::kParallel);
  EXPECT_EQ(promo.priority, -5);
  const auto& weekly = std::get<ScheduleTrigger>(promo.triggers[0].spec);
  ASSERT_TRUE(weekly.cron.has_value());
  EXPECT_TRUE(weekly.cron->matches(CivilTime{2025, 8, 18, 9, 0, 0}));  // a Monday
  EXPECT_EQ(weekly.tz, "Asia/Jakarta");
  EXPECT_EQ(weekly.tag, "langganan");
  const auto& once = std::get<ScheduleTrigger>(promo.triggers[1].spec);
  EXPECT_EQ(once.at, (CivilTime{2025, 12, 24, 9, 0, 0}));
  EXPECT_EQ(std::get<ContactIdleTrigger>(promo.triggers[2].spec).after_ms, 86400000);
  EXPECT_EQ(std::get<MessageStatusTrigger>(promo.triggers[3].spec).status, "failed");
  EXPECT_EQ(std::get<EventTrigger>(promo.triggers[4].spec).name, "promo.resend");

  const auto& hours = std::get<BusinessHoursCondition>(promo.conditions[1].spec);
  EXPECT_EQ(hours.days, 0x7E);
  EXPECT_EQ(hours.from_minute, 8 * 60);
  EXPECT_EQ(hours.to_minute, 20 * 60);
  ASSERT_EQ(hours.holidays.size(), 2u);
  EXPECT_EQ(hours.holidays[1].year, 0);
  EXPECT_EQ(hours.holidays[1].month, 12);
  EXPECT_TRUE(hours.when_open);
  const auto& contact = std::get<ContactCondition>(promo.conditions[0].spec);
  EXPECT_EQ(contact.not_tags, std::vector<std::string>{"berhenti-langganan"});
  ASSERT_EQ(contact.attributes.size(), 1u);
  EXPECT_EQ(contact.attributes[0].second, true);
  EXPECT_EQ(std::get<KeywordsCondition>(promo.conditions[2].spec).any,
            (std::vector<std::string>{"promo", "diskon"}));
  EXPECT_EQ(std::get<RegexCondition>(promo.conditions[3].spec).pattern, "^(promo|diskon)\\b");
  EXPECT_EQ(std::get<LuaCondition>(promo.conditions[4].spec).expression.code,
            "contact.attributes.city == 'Bandung'");

  const auto& tmpl = std::get<ReplyStep>(step(promo, "promo").spec);
  ASSERT_TRUE(tmpl.template_message.has_value());
  EXPECT_EQ(tmpl.template_message->name, "promo_mingguan");
  ASSERT_EQ(tmpl.template_message->params.size(), 2u);
  EXPECT_EQ(tmpl.template_message->params[1].value, "20%");
  EXPECT_EQ(std::get<DelayStep>(step(promo, "pause").spec).duration_ms, 2000);
  const auto& call = std::get<CallStep>(step(promo, "helper").spec);
  EXPECT_EQ(call.flow, "promo-detail");
  EXPECT_EQ(call.with["discount"], 20);
  const auto& ai = std::get<AiStep>(step(promo, "welcome_back").spec);
  EXPECT_FALSE(ai.reply);
  EXPECT_EQ(ai.max_tokens, 200);
  EXPECT_EQ(ai.temperature, 0.7);
  EXPECT_TRUE(ai.providers.empty());
  EXPECT_EQ(std::get<GotoStep>(step(promo, "done").spec).flow, "promo-detail");
}

TEST_F(ValidFixturesTest, AiAndClassifyStepModels) {
  ASSERT_TRUE(result_->ok()) << dump(*result_);
  const Flow& flow = findFlow(*result_, "ai-steps");
  const auto& profile = std::get<ClassifyStep>(step(flow, "profile").spec);
  ASSERT_EQ(profile.fields.size(), 3u);
  EXPECT_EQ(profile.fields[0].name, "lead");  // the file's order
  EXPECT_EQ(profile.fields[0].values, (std::vector<std::string>{"hot", "warm", "cold"}));
  EXPECT_EQ(profile.fields[0].description, "hot = buys this week");
  EXPECT_EQ(profile.fields[1].type, "integer");
  EXPECT_EQ(profile.fields[2].type, "boolean");
  EXPECT_EQ(profile.insight, "lead_profile");
  EXPECT_TRUE(profile.save_to_contact);
  EXPECT_TRUE(profile.background);

  // Neither categories nor fields: sentiment, lead, intent and product; stored under the id.
  const auto& mood = std::get<ClassifyStep>(step(flow, "mood").spec);
  ASSERT_EQ(mood.fields.size(), 4u);
  EXPECT_EQ(mood.fields[0].name, "sentiment");
  EXPECT_EQ(mood.fields[1].values, (std::vector<std::string>{"hot", "warm", "cold"}));
  EXPECT_EQ(mood.insight, "mood");
  EXPECT_FALSE(mood.background);

  const auto& ai = std::get<AiStep>(step(flow, "answer").spec);
  EXPECT_EQ(ai.providers, (std::vector<std::string>{"bot", "backup"}));
  EXPECT_EQ(ai.history, 6);
  EXPECT_EQ(ai.history_tokens, 1500);
  EXPECT_EQ(ai.contact_attributes, (std::vector<std::string>{"name", "city"}));
  EXPECT_EQ(ai.debounce_ms, 2500);
  EXPECT_EQ(ai.knowledge, (std::vector<std::string>{"faq", "policies"}));
  EXPECT_EQ(ai.passages, 4);
  EXPECT_TRUE(ai.grounded);
  EXPECT_EQ(ai.recall, 2);
  EXPECT_FALSE(ai.typing);
  ASSERT_EQ(ai.tools.size(), 1u);
  EXPECT_EQ(ai.tools[0].name, "lead_score");
  EXPECT_EQ(ai.tools[0].function, "score_lead");
  ASSERT_EQ(ai.tools[0].parameters.size(), 2u);
  EXPECT_EQ(ai.tools[0].parameters[0].type, "integer");
  EXPECT_EQ(ai.tools[0].parameters[1].values.size(), 3u);
  ASSERT_TRUE(ai.fallback);
  EXPECT_EQ(ai.fallback->reply.value, "Admin kami akan membalas ya kak.");
  EXPECT_TRUE(ai.fallback->handoff);
  EXPECT_TRUE(ai.fallback->note.isTemplate());

  const auto& plain = std::get<AiStep>(flow.steps.back().spec);
  ASSERT_TRUE(plain.fallback);
  EXPECT_EQ(plain.fallback->reply.value, "Maaf, coba lagi nanti ya.");
  EXPECT_FALSE(plain.fallback->handoff);
  EXPECT_TRUE(plain.typing);
}

// `keywords:` written as one plain text with a colon in it: the schema check reports it, and
// the loader used to throw right after (json::value on null), ending `waflow validate` or a
// hot reload. Found by flow_loader_fuzz (tests/fuzz/flow/regressions/).
TEST(FlowLoaderTest, AConditionOfTheWrongShapeIsReportedNotThrown) {
  FlowLoadResult r;
  ASSERT_NO_THROW(r = loadText("id: shapes\ntriggers:\n  - on: message.received\nconditions:\n"
                               "  - keywords: tz:[halo]\nsteps:\n  - reply: \"Halo\"\n"));
  EXPECT_FALSE(r.ok());
  bool keywords_named = false;
  for (const auto& d : r.diagnostics) {
    keywords_named = keywords_named || d.message.find("keywords") != std::string::npos;
    EXPECT_NE(d.kind, "flow-internal") << d.message;
  }
  EXPECT_TRUE(keywords_named);
}

// Every input the fuzzer once crashed on loads without an exception and is refused.
TEST(FlowLoaderTest, FuzzerFindingsStayFixed) {
  const auto findings = test::fuzzRegressions(WAFLOW_SOURCE_DIR, "flow");
  for (const test::FuzzRegression& finding : findings) {
    FlowLoadResult r;
    ASSERT_NO_THROW(r = loadText(finding.bytes)) << finding.path;
    EXPECT_FALSE(r.ok()) << finding.path;
  }
  EXPECT_GE(findings.size(), 2u);
}

// yaml-cpp 0.7 cannot get past a ',' that starts a document: LoadAll looped forever on it,
// allocating until memory ran out. The loader names the character instead.
TEST(FlowLoaderTest, ATokenTheParserCannotPassIsAnErrorAtItsPlace) {
  const FlowLoadResult leading = loadText(",ain_flow:r:a");
  EXPECT_FALSE(leading.ok());
  EXPECT_THAT(dump(leading), ::testing::HasSubstr("1:1: invalid YAML: unexpected ',' here"));
  const FlowLoadResult later = loadText("id: a\n---\n  ,\n");
  EXPECT_FALSE(later.ok());
  EXPECT_THAT(dump(later), ::testing::HasSubstr("3:3: invalid YAML: unexpected ',' here"));
}

TEST(FlowLoaderTest, ASecondDocumentIsNamedAtItsFirstLine) {
  const FlowLoadResult result = loadText(R"(id: one
triggers:
  - on: message.received
steps:
  - reply: hi
---
id: two
)");
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(dump(result), ::testing::HasSubstr("7:1: a flow file holds one flow"));
}

TEST(FlowLoaderTest, AnUnknownKnowledgeBaseIsNamedWithTheKnownOnes) {
  const FlowLoadResult result = loadText(R"(
id: kb
triggers:
  - on: message.received
steps:
  - ai: { knowledge: fqa }
)");
  EXPECT_THAT(dump(result), ::testing::HasSubstr("6:22: knowledge base 'fqa' is not defined"));
  EXPECT_THAT(dump(result), ::testing::HasSubstr("faq"));
}

TEST(FlowLoaderTest, SnippetPositionsInQuotedBlockAndPlainScalars) {
  const std::string text =
      "id: positions\n"
      "triggers:\n"
      "  - on: message.received\n"
      "conditions:\n"
      "  - lua: |\n"
      "      contact.tags.vip\n"
      "steps:\n"
      "  - id: a\n"
      "    if: '{{ message.text == \"x\" }}'\n"
      "    reply: Halo {{ contact.name }} dan {{ contact.city }}\n"
      "  - reply: >\n"
      "      Baris satu\n"
      "      dua {{ steps.a.output }}\n";
  const FlowLoadResult result = loadText(text);
  ASSERT_TRUE(result.ok()) << dump(result);
  const Flow& flow = result.flows.at(0);
  ASSERT_EQ(flow.snippets.size(), 5u);
  struct Want {
    const char* code;
    int line;
    int column;
  };
  const Want want[] = {
      {"contact.tags.vip", 6, 7},
      {"message.text == \"x\"", 9, 13},  // {{ }} around an if: is
                                         // accepted and unwrapped
      {"contact.name", 10, 20},
      {"contact.city", 10, 43},
      {"steps.a.output", 13, 14},
  };
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(flow.snippets[i].code, want[i].code) << i;
    EXPECT_EQ(flow.snippets[i].line, want[i].line) << i;
    EXPECT_EQ(flow.snippets[i].column, want[i].column) << i;
    EXPECT_EQ(flow.snippets[i].file, "flows/test.yaml");
  }
}

TEST(FlowLoaderTest, LuaCheckSeesEverySnippetAndItsDiagnosticGetsThePosition) {
  std::vector<std::string> seen;
  FlowLoadOptions options = fixtureOptions();
  options.check_lua = [&](const LuaSnippet& snippet) -> std::optional<diag::Diagnostic> {
    seen.push_back(snippet.code);
    if (snippet.code != "bad(") {
      return std::nullopt;
    }
    diag::Diagnostic d;
    d.kind = "flow-lua";
    d.message = "unexpected end of expression";
    return d;
  };
  const FlowLoadResult result = loadText(
      "id: hook\ntriggers:\n  - on: message.received\nsteps:\n"
      "  - if: ok\n    reply: \"x {{ bad( }}\"\n",
      options);
  EXPECT_EQ(seen, (std::vector<std::string>{"ok", "bad("}));
  ASSERT_EQ(result.diagnostics.size(), 1u) << dump(result);
  EXPECT_EQ(result.diagnostics[0].line, 6);
  EXPECT_EQ(result.diagnostics[0].column, 18);
  EXPECT_EQ(result.diagnostics[0].file, "flows/test.yaml");
  EXPECT_FALSE(result.ok());
}

TEST(FlowLoaderTest, ReferencesAreCheckedOnlyAgainstTheSetsGiven) {
  const std::string text =
      "id: refs\ntriggers:\n  - on: message.received\n    channel: anything\n"
      "steps:\n  - ai: { provider: whatever }\n  - lua: some_function\n";
  FlowLoadOptions options;  // no context: nothing to check against
  EXPECT_TRUE(loadText(text, options).ok()) << dump(loadText(text, options));
  const FlowLoadResult checked = loadText(text);
  EXPECT_EQ(checked.diagnostics.size(), 3u) << dump(checked);
}

TEST(FlowLoaderTest, SubstitutesEnvironmentVariablesAndReportsSecrets) {
  const FlowLoadResult result = loadText(
      "id: env\ntriggers:\n  - on: message.received\nsteps:\n"
      "  - http:\n      url: https://api.toko.id\n"
      "      headers: { Authorization: \"Bearer ${TOKO_TOKEN}\" }\n");
  ASSERT_TRUE(result.ok()) << dump(result);
  const auto& http = std::get<HttpStep>(result.flows[0].steps[0].spec);
  EXPECT_EQ(http.headers.at(0).second.value, "Bearer secret-token");
  EXPECT_NE(std::find(result.secrets.begin(), result.secrets.end(), "secret-token"),
            result.secrets.end());
}

TEST(FlowLoaderTest, OneFlowPerFileAndEmptyFiles) {
  const FlowLoadResult two =
      loadText("id: a\ntriggers: [{on: event, name: x}]\nsteps: [{stop: }]\n---\nid: b\n");
  ASSERT_EQ(two.diagnostics.size(), 1u) << dump(two);
  EXPECT_EQ(two.diagnostics[0].line, 5);
  EXPECT_NE(two.diagnostics[0].message.find("holds one flow"), std::string::npos);

  const FlowLoadResult empty = loadText("# nothing yet\n");
  ASSERT_EQ(empty.diagnostics.size(), 1u);
  EXPECT_EQ(empty.diagnostics[0].severity, diag::Severity::kWarning);
  EXPECT_TRUE(empty.ok());
  EXPECT_TRUE(empty.flows.empty());
}

TEST(FlowLoaderTest, LoadsADirectoryOrOneFileAndReportsAMissingPath) {
  char dir_template[] = "/tmp/waflow-flows-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  std::ofstream(dir / "b.yml") << "id: b\ntriggers: [{on: event, name: x}]\nsteps: [{stop: }]\n";
  std::ofstream(dir / "a.yaml") << "id: a\ntriggers: [{on: event, name: y}]\nsteps: [{goto: b}]\n";
  std::ofstream(dir / ".hidden.yaml") << "not: a flow\n";
  std::ofstream(dir / "notes.txt") << "ignored\n";

  const FlowLoadResult all = loadFlows(dir);
  EXPECT_TRUE(all.ok()) << dump(all);
  EXPECT_EQ(all.files,
            (std::vector<std::string>{(dir / "a.yaml").string(), (dir / "b.yml").string()}));
  ASSERT_EQ(all.flows.size(), 2u);
  EXPECT_EQ(all.flows[0].id, "a");

  // Alone, a.yaml refers to a flow it cannot see.
  const FlowLoadResult one = loadFlows(dir / "a.yaml");
  ASSERT_EQ(one.diagnostics.size(), 1u) << dump(one);
  EXPECT_EQ(one.diagnostics[0].kind, "flow-refs");
  EXPECT_EQ(one.diagnostics[0].line, 3);

  const FlowLoadResult missing = loadFlows(dir / "nope");
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].message, "no such file or directory");
  std::filesystem::remove_all(dir);
}

TEST(FlowLoaderTest, PrecedenceIsPriorityThenId) {
  Flow low;
  low.id = "a-low";
  low.priority = -1;
  Flow high;
  high.id = "z-high";
  high.priority = 10;
  Flow tie;
  tie.id = "b-tie";
  tie.priority = 10;
  std::vector<Flow> flows = {low, high, tie};
  std::sort(flows.begin(), flows.end(), runsBefore);
  EXPECT_EQ(flows[0].id, "b-tie");
  EXPECT_EQ(flows[1].id, "z-high");
  EXPECT_EQ(flows[2].id, "a-low");
}

}  // namespace
}  // namespace waflow::core::flow

namespace waflow::core::flow {
namespace {

// Whatever a person types, loading reports diagnostics and never throws or crashes: lines of
// the fixtures are dropped, duplicated, re-indented or cut short at random (fixed seed).
TEST(FlowLoaderTest, MangledFilesGiveDiagnosticsNotExceptions) {
  std::vector<std::string> texts;
  for (const auto& dir : {"valid", "invalid"}) {
    for (const auto& file : testing::yamlFiles(fixtures() / dir)) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      texts.push_back(text.str());
    }
  }
  std::mt19937 random(20250817);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> lines = diag::splitLines(texts[random() % texts.size()]);
    for (int edit = 0; edit < 3 && !lines.empty(); ++edit) {
      const size_t at = random() % lines.size();
      switch (random() % 4) {
        case 0:
          lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        case 1:
          lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), lines[at]);
          break;
        case 2:
          lines[at] = "  " + lines[at];
          break;
        default:
          lines[at] = lines[at].substr(0, random() % (lines[at].size() + 1));
      }
    }
    std::string text;
    for (const std::string& line : lines) {
      text += line + "\n";
    }
    FlowLoadResult result;
    EXPECT_NO_THROW(result = loadText(text)) << text;
  }
}

}  // namespace
}  // namespace waflow::core::flow

// The ai step: a burst of messages gathered into one question (debounce), the typing indicator,
// knowledge passages, the provider's answer with tool calls and the step's fallbacks, and the
// hand-off to a human.
#include "engine/steps/run_step.h"
#include "engine/steps/runners.h"

#include "engine/basics.h"
#include "engine/steps/ai/classify_fields.h"
#include "engine/steps/ai/memory.h"
#include "json/bounded_parse.h"
#include "text/ascii.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <set>

namespace waflow::core::engine::steps {

namespace {

using text::trimSpace;

// What a grounded answer says when the passages do not hold the answer.
constexpr const char* kNoAnswer = "NO_ANSWER";

bool saysNoAnswer(const std::string& answer) {
  std::string_view t = trimSpace(answer);
  return t.rfind(kNoAnswer, 0) == 0 || (t.size() < 40 && t.find(kNoAnswer) != std::string::npos);
}

// The texts of gathered messages (a burst), one per line.
std::string burstText(const Json& gathered) {
  std::string text;
  for (const Json& m : gathered) {
    std::string t = jsonString(m, "text");
    if (!t.empty()) {
      text += (text.empty() ? "" : "\n") + t;
    }
  }
  return text;
}

// An ai step between its reads (memory, recall, knowledge) and its answer.
struct AiStepState {
  const flow::Step* step = nullptr;
  const flow::AiStep* spec = nullptr;
  std::string prompt, system, recalled;
  std::set<std::string> exclude;  // message ids already in the prompt
  Json history = Json::array();
  Json passages = Json::array();
  Json tools_used = Json::array();  // {name, arguments, result} of each tool call
  std::shared_ptr<AiCall> call;
  StepDone done;
};
using StatePtr = std::shared_ptr<AiStepState>;

void askAi(StepContext& ctx, ExecPtr x, StatePtr state);
// One request of the answer; when the AI calls tools, they run and the next round asks again.
void askAiRound(StepContext& ctx, ExecPtr x, StatePtr state, int round);
void aiFallback(StepContext& ctx, ExecPtr x, StatePtr state, const std::string& why);

}  // namespace

// ---- debounce -----------------------------------------------------------------------------

namespace {

// Adds the message to the burst and (re)starts the quiet wait: the ai step answers once the
// customer has been quiet for `quiet_ms`.
void gatherUntilQuiet(StepContext& ctx, ExecPtr x, int64_t quiet_ms, StepDone done) {
  // A message handled again after a crash (its inbox entry was not marked done yet) is
  // already in the burst.
  const std::string id = jsonString(x->message, "id");
  bool known = std::any_of(x->run.gathered.begin(), x->run.gathered.end(),
                           [&](const Json& m) { return jsonString(m, "id") == id; });
  if (!id.empty() && !known) {
    x->run.gathered.push_back(x->message);
  }
  if (!x->run.token.empty()) {
    ctx.scheduler().cancel({fmt::format("resume:{}:{}", x->run.id, x->run.token)}, [](bool) {});
  }
  ctx.scheduleResume(x, "gather", flowNowMs() + quiet_ms, "debounce wait", std::move(done));
}

}  // namespace

void gatherMore(StepContext& ctx, ExecPtr x, StepDone done) {
  const flow::Step& step = x->flow->steps[x->run.step];
  const auto* a = std::get_if<flow::AiStep>(&step.spec);
  if (a == nullptr) {
    return done(StepOutcome::failed("the run waited at a step that is no longer an ai step"));
  }
  gatherUntilQuiet(ctx, std::move(x), std::max<int64_t>(a->debounce_ms, 1), std::move(done));
}

// ---- the ai step --------------------------------------------------------------------------

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::AiStep& a,
         StepDone done) {
  if (a.debounce_ms > 0 && x->entry != nullptr && !x->gathered_done) {
    return gatherUntilQuiet(ctx, std::move(x), a.debounce_ms, std::move(done));
  }
  Json gathered = std::move(x->run.gathered);
  x->run.gathered = Json::array();
  x->gathered_done = false;
  std::set<std::string> exclude;
  for (const Json& m : gathered) {
    exclude.insert(jsonString(m, "id"));
  }
  if (std::string id = jsonString(x->message, "id"); !id.empty()) {
    exclude.insert(id);
  }

  std::string prompt, system;
  if (auto e = ctx.render(x, a.prompt, false, prompt)) {
    return done(StepOutcome::failed(*e));
  }
  if (a.prompt.empty()) {
    prompt = gathered.empty() ? jsonString(x->message, "text") : burstText(gathered);
  }
  if (auto e = ctx.render(x, a.system, false, system)) {
    return done(StepOutcome::failed(*e));
  }
  if (!a.contact_attributes.empty() && x->entry != nullptr) {
    const Json& c = x->entry->contact_json;
    std::string about;
    for (const std::string& name : a.contact_attributes) {
      Json v = name == "name" || name == "tags"
                   ? c.value(name, Json())
                   : c.value("attributes", Json::object()).value(name, Json());
      if (v.is_null() || (v.is_string() && v.get<std::string>().empty()) ||
          (v.is_array() && v.empty())) {
        continue;
      }
      about += "- " + name + ": " +
               (v.is_string() ? v.get<std::string>()
                              : v.dump(-1, ' ', false, Json::error_handler_t::replace)) +
               "\n";
    }
    if (!about.empty()) {
      system += (system.empty() ? "" : "\n\n") + std::string("About the customer:\n") + about;
    }
  }
  if (a.typing) {
    ctx.showTyping(x);
  }
  auto call = ctx.ai().newCall(*x, step, a.providers);
  auto state = std::make_shared<AiStepState>();
  state->prompt = std::move(prompt);
  state->system = std::move(system);
  state->exclude = std::move(exclude);
  state->done = std::move(done);
  state->step = &step;
  state->spec = &a;
  state->call = std::move(call);

  // Memory, recall and knowledge are independent reads; the answer is asked for once all three
  // are in.
  auto pending = std::make_shared<std::atomic<int>>(3);
  auto ready = [&ctx, x, state, pending]() {
    if (pending->fetch_sub(1) == 1) {
      askAi(ctx, x, state);
    }
  };
  loadHistory(ctx.storage(), *x, a.history, a.history_tokens, state->exclude,
              [state, ready](Json messages, Json) {
                state->history = std::move(messages);
                ready();
              });
  recallHistory(ctx.storage(), *x, a.recall, state->prompt, state->exclude,
                [state, ready](std::string block) {
                  state->recalled = std::move(block);
                  ready();
                });
  searchKnowledge(ctx.knowledge(), a.knowledge, state->prompt, a.passages,
                  [state, ready](Json passages) {
                    state->passages = std::move(passages);
                    ready();
                  });
}

namespace {

void askAi(StepContext& ctx, ExecPtr x, StatePtr state) {
  const flow::AiStep& a = *state->spec;
  if (a.grounded && state->passages.empty()) {
    return aiFallback(ctx, x, state, "the knowledge base has nothing relevant to the question");
  }
  std::string system = state->system;
  if (!state->recalled.empty()) {
    system += (system.empty() ? "" : "\n\n") +
              std::string("Earlier, this customer said (oldest first is not guaranteed):\n") +
              state->recalled;
  }
  if (!state->passages.empty()) {
    std::string block = a.grounded
                            ? "Answer only from the knowledge base passages below. If they do not "
                              "contain the answer, reply with exactly " +
                                  std::string(kNoAnswer) + " and nothing else.\n"
                            : "These knowledge base passages may help; prefer them to what you "
                              "know when they disagree.\n";
    int n = 0;
    for (const Json& p : state->passages) {
      std::string title = jsonString(p, "title");
      block += fmt::format("\n[{}] (source: {}{})\n{}\n", ++n, jsonString(p, "path"),
                           title.empty() ? "" : ", \"" + title + "\"", jsonString(p, "text"));
    }
    system += (system.empty() ? "" : "\n\n") + block;
  }
  Json messages = state->history;
  messages.push_back({{"role", "user"}, {"content", state->prompt}});
  Json request = {{"messages", std::move(messages)}};
  if (!system.empty()) {
    request["system"] = std::move(system);
  }
  if (a.max_tokens) {
    request["max_tokens"] = *a.max_tokens;
  }
  if (a.temperature) {
    request["temperature"] = *a.temperature;
  }
  if (!a.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : a.tools) {
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", t.name},
                         {"description", t.description},
                         {"parameters", fieldsSchema(t.parameters)}}}});
    }
    request["tools"] = std::move(tools);
    request["tool_choice"] = "auto";
  }
  state->call->request = std::move(request);
  askAiRound(ctx, std::move(x), std::move(state), 0);
}

// The AI may call the step's tools a few times before it answers; more rounds than this is a
// model going in circles.
constexpr int kMaxToolRounds = 5;

// Adds `more` to `into`; where both touch the same attribute or tag, `more` wins.
void mergeContactChanges(lua::ContactChanges& into, const lua::ContactChanges& more) {
  for (const auto& [key, value] : more.set.items()) {
    into.set[key] = value;
  }
  auto move = [](const std::vector<std::string>& tags, std::vector<std::string>& to,
                 std::vector<std::string>& from) {
    for (const std::string& tag : tags) {
      std::erase(from, tag);
      if (std::find(to.begin(), to.end(), tag) == to.end()) {
        to.push_back(tag);
      }
    }
  };
  move(more.tags_added, into.tags_added, into.tags_removed);
  move(more.tags_removed, into.tags_removed, into.tags_added);
}

Json runTool(StepContext& ctx, const ExecPtr& x, const flow::AiStep& a, const Json& call,
             lua::ContactChanges& changes) {
  const Json function = call.value("function", Json::object());
  const std::string name = jsonString(function, "name");
  auto tool = std::find_if(a.tools.begin(), a.tools.end(),
                           [&](const flow::AiTool& t) { return t.name == name; });
  if (tool == a.tools.end()) {
    return {{"error", "there is no tool named '" + name + "'"}};
  }
  Json args = json_input::parseOrDiscarded(jsonString(function, "arguments"));
  if (!args.is_object()) {
    return {{"error", "the arguments are not a JSON object"}};
  }
  lua::CallResult r = ctx.lua(x->set).call(tool->function, Json::array({args}), ruleContext(*x));
  if (!r.ok()) {
    flowLogger()->warn("{}: the tool '{}' failed: {}", x->entry ? x->entry->key : x->flow->id, name,
                       r.error->text());
    return {{"error", "the tool failed"}};
  }
  mergeContactChanges(changes, r.contact);
  return r.value;
}

// Runs the tools the AI called and asks again with their results; what the tools changed on
// the contact is stored first, so the next round's tools and the rest of the flow see it.
void answerToolCalls(StepContext& ctx, ExecPtr x, StatePtr state, int round, const Json& details,
                     const Json& calls) {
  Json& messages = state->call->request["messages"];
  Json assistant = details.value("assistant_message", Json());
  if (!assistant.is_object()) {
    assistant = {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}};
  }
  messages.push_back(std::move(assistant));
  lua::ContactChanges changes;
  for (const Json& call : calls) {
    Json result = runTool(ctx, x, *state->spec, call, changes);
    state->tools_used.push_back({{"name", call["function"].value("name", "")},
                                 {"arguments", call["function"].value("arguments", "")},
                                 {"result", result}});
    messages.push_back(
        {{"role", "tool"},
         {"tool_call_id", call.value("id", "")},
         {"content", result.is_string()
                         ? result.get<std::string>()
                         : result.dump(-1, ' ', false, Json::error_handler_t::replace)}});
  }
  if (changes.empty() || x->entry == nullptr) {
    return askAiRound(ctx, x, state, round + 1);
  }
  ctx.updateContact(x->entry, changes.set, changes.tags_added, changes.tags_removed,
                    [&ctx, x, state, round](bool ok, std::string error) {
                      if (!ok) {
                        flowLogger()->warn(
                            "{}: saving what the AI's tools changed on the contact failed: {}",
                            x->entry ? x->entry->key : x->flow->id, error);
                      }
                      askAiRound(ctx, x, state, round + 1);
                    });
}

// The step's output for the AI's answer: its text, provider and usage, the provider's details,
// the tools it used and the passages it was given.
Json answerOutput(const AiStepState& state, const AiAnswer& answer) {
  Json output = {
      {"text", answer.outcome.value}, {"provider", answer.provider}, {"usage", answer.usage}};
  if (Json details = json_input::parseOrDiscarded(answer.outcome.detail_json);
      details.is_object()) {
    output["details"] = std::move(details);
  }
  if (!state.tools_used.empty()) {
    output["tools"] = state.tools_used;
  }
  if (!state.passages.empty()) {
    Json sources = Json::array();
    for (const Json& p : state.passages) {
      sources.push_back({{"path", p["path"]}, {"title", p["title"]}, {"score", p["score"]}});
    }
    output["sources"] = std::move(sources);
  }
  return output;
}

// The AI answered for good (no tool calls): a failure or a grounded "no answer" goes to the
// fallback; an answer is the step's output, and its reply when the step replies.
void finishAnswer(StepContext& ctx, ExecPtr x, StatePtr state, AiAnswer answer) {
  const flow::AiStep& spec = *state->spec;
  if (!answer.outcome.ok() || answer.outcome.value.empty()) {
    const std::string error =
        answer.outcome.ok() ? "the AI provider answered nothing" : answer.outcome.error;
    if (spec.fallback) {
      return aiFallback(ctx, x, state, "AI: " + error);
    }
    return state->done(StepOutcome::failed("AI: " + error));
  }
  if (spec.grounded && saysNoAnswer(answer.outcome.value)) {
    return aiFallback(ctx, x, state, "the knowledge base passages do not answer the question");
  }
  Json output = answerOutput(*state, answer);
  if (!spec.reply) {
    return state->done(StepOutcome::next(std::move(output)));
  }
  ctx.send(x, "text", answer.outcome.value, "",
           [done = state->done, output](bool ok, std::string id) mutable {
             if (!ok) {
               return done(StepOutcome::failed(id));
             }
             output["id"] = id;
             done(StepOutcome::next(std::move(output)));
           });
}

void askAiRound(StepContext& ctx, ExecPtr x, StatePtr state, int round) {
  ctx.ai().ask(state->call, [&ctx, x, state, round](AiAnswer answer) {
    if (answer.outcome.ok() && !state->spec->tools.empty()) {
      Json details = json_input::parseOrDiscarded(answer.outcome.detail_json);
      const Json calls =
          details.is_object() ? details.value("tool_calls", Json::array()) : Json::array();
      if (calls.is_array() && !calls.empty()) {
        if (round + 1 < kMaxToolRounds) {
          return answerToolCalls(ctx, x, state, round, details, calls);
        }
        answer.outcome.rc = waflow::Rc::kError;
        answer.outcome.error =
            fmt::format("the AI still called tools after {} rounds", kMaxToolRounds);
      }
    }
    finishAnswer(ctx, x, state, std::move(answer));
  });
}

void aiFallback(StepContext& ctx, ExecPtr x, StatePtr state, const std::string& why) {
  const flow::AiStep& a = *state->spec;
  if (!a.fallback) {
    return state->done(StepOutcome::failed(why));
  }
  flowLogger()->warn("{}: {}; the fallback answers", state->call->where, why);
  std::string reply, note;
  if (auto e = ctx.render(x, a.fallback->reply, true, reply)) {
    return state->done(StepOutcome::failed(*e));
  }
  if (auto e = ctx.render(x, a.fallback->note, false, note)) {
    return state->done(StepOutcome::failed(*e));
  }
  Json output = {{"fallback", true}, {"error", why}, {"text", reply}};
  auto finish = [&ctx, x, state, note, output]() mutable {
    if (state->spec->fallback->handoff && x->entry != nullptr) {
      ctx.handOff(x, note.empty() ? output["error"].get<std::string>() : note, "");
      output["handoff"] = true;
    }
    state->done(StepOutcome::next(std::move(output)));
  };
  if (reply.empty() || x->entry == nullptr) {
    return finish();
  }
  ctx.send(x, "text", reply, "",
           [state, finish = std::move(finish)](bool ok, std::string id) mutable {
             if (!ok) {
               return state->done(StepOutcome::failed(id));
             }
             finish();
           });
}

}  // namespace

}  // namespace waflow::core::engine::steps

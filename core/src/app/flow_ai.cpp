// The ai and classify steps: the provider chain with its fallback, conversation memory from
// storage, bursts gathered into one answer (debounce), knowledge passages and recalled history,
// the typing indicator, token usage with its cost, and classifications validated against the
// flow's fields and stored as insights.
#include "app/flow_engine_impl.h"

#include "app/knowledge_base.h"
#include "app/storage_call.h"
#include "json/bounded_parse.h"
#include "knowledge/ranker.h"
#include "knowledge/sources.h"
#include "text/ascii.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace waflow::core::app {

namespace {

using text::lowerAscii;
using text::trimSpace;

// About four bytes of text per token for the Latin-script languages our users write; used only
// to keep history within a budget, never for billing (the provider's usage is).
int64_t estimateTokens(const std::string& text) {
  return static_cast<int64_t>(text.size() + 3) / 4 + 4;
}

// What a grounded answer says when the passages do not hold the answer.
constexpr const char* kNoAnswer = "NO_ANSWER";

bool saysNoAnswer(const std::string& answer) {
  std::string_view t = trimSpace(answer);
  return t.rfind(kNoAnswer, 0) == 0 || (t.size() < 40 && t.find(kNoAnswer) != std::string::npos);
}

// The first JSON object in an answer: models wrap JSON in ```json fences or add a sentence.
Json firstJsonObject(const std::string& answer) {
  Json j = json_input::parseOrDiscarded(answer);
  if (j.is_object()) {
    return j;
  }
  size_t open = answer.find('{');
  size_t close = answer.rfind('}');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    j = json_input::parseOrDiscarded(answer.substr(open, close - open + 1));
    if (j.is_object()) {
      return j;
    }
  }
  return Json();
}

// The category an AI answer names: {"category": "x"}, or the answer itself, compared without
// case and punctuation, or else the first category name found in it.
std::optional<std::string> categoryIn(const std::string& answer,
                                      const std::vector<std::pair<std::string, std::string>>& cs) {
  std::string said = answer;
  Json j = firstJsonObject(answer);
  if (j.is_object() && j.contains("category") && j["category"].is_string()) {
    said = j["category"].get<std::string>();
  }
  std::string norm = lua::normalizeText(said);
  for (const auto& [name, _] : cs) {
    if (lua::normalizeText(name) == norm) {
      return name;
    }
  }
  for (const auto& [name, _] : cs) {
    if (lua::KeywordMatcher({name}).match(said)) {
      return name;
    }
  }
  return std::nullopt;
}

// Checks an answer against the fields; the fields' values (enums in their declared spelling,
// numbers as numbers) on success, else why not.
std::variant<Json, std::string> checkFields(const std::string& answer,
                                            const std::vector<flow::ClassifyField>& fields) {
  Json j = firstJsonObject(answer);
  if (!j.is_object()) {
    return std::string("the answer is not a JSON object");
  }
  Json out = Json::object();
  for (const auto& f : fields) {
    if (!j.contains(f.name) || j[f.name].is_null()) {
      return "the field '" + f.name + "' is missing";
    }
    const Json& v = j[f.name];
    if (f.type == "boolean") {
      if (v.is_boolean()) {
        out[f.name] = v;
      } else if (v.is_string() && (lowerAscii(v.get<std::string>()) == "true" ||
                                   lowerAscii(v.get<std::string>()) == "false")) {
        out[f.name] = lowerAscii(v.get<std::string>()) == "true";
      } else {
        return "the field '" + f.name + "' must be true or false";
      }
    } else if (f.type == "number" || f.type == "integer") {
      double d = 0;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_string()) {
        char* end = nullptr;
        const std::string raw = v.get<std::string>();
        const std::string s(trimSpace(raw));
        d = std::strtod(s.c_str(), &end);
        if (s.empty() || end == nullptr || *end != '\0') {
          return "the field '" + f.name + "' must be a number";
        }
      } else {
        return "the field '" + f.name + "' must be a number";
      }
      if (f.type == "integer") {
        if (std::floor(d) != d) {
          return "the field '" + f.name + "' must be a whole number";
        }
        out[f.name] = static_cast<int64_t>(d);
      } else {
        out[f.name] = d;
      }
    } else {
      std::string s = v.is_string() ? v.get<std::string>()
                                    : v.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (!f.values.empty()) {
        std::string norm = lua::normalizeText(s);
        auto match = std::find_if(f.values.begin(), f.values.end(), [&](const std::string& value) {
          return lua::normalizeText(value) == norm;
        });
        if (match == f.values.end()) {
          std::string allowed;
          for (const auto& value : f.values) {
            allowed += (allowed.empty() ? "" : ", ") + value;
          }
          return "the field '" + f.name + "' is '" + s.substr(0, 40) + "', not one of " + allowed;
        }
        s = *match;
      }
      out[f.name] = s;
    }
  }
  return out;
}

Json fieldsSchema(const std::vector<flow::ClassifyField>& fields) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const auto& f : fields) {
    Json p = {{"type", f.type}};
    if (!f.values.empty()) {
      p["enum"] = f.values;
    }
    if (!f.description.empty()) {
      p["description"] = f.description;
    }
    properties[f.name] = std::move(p);
    required.push_back(f.name);
  }
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

std::string fieldsInstructions(const std::vector<flow::ClassifyField>& fields) {
  std::string s =
      "Read the customer's message and fill in these fields. Answer with one JSON object and "
      "nothing else.\n";
  for (const auto& f : fields) {
    s += "- " + f.name + ": ";
    if (!f.values.empty()) {
      s += "one of";
      for (size_t i = 0; i < f.values.size(); ++i) {
        s += (i == 0 ? " " : ", ") + f.values[i];
      }
    } else {
      s += "a " + f.type;
    }
    if (!f.description.empty()) {
      s += " (" + f.description + ")";
    }
    s += "\n";
  }
  return s;
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

}  // namespace

// ---- the provider chain -------------------------------------------------------------------

plugin::PluginInstance* FlowEngine::Impl::aiInstance(const std::string& id) const {
  auto it = services_.ai.find(id);
  return it == services_.ai.end() ? nullptr : it->second;
}

std::vector<std::string> FlowEngine::Impl::aiChain(const std::vector<std::string>& named) const {
  if (!named.empty()) {
    return named;
  }
  if (!config_.auto_reply.ai.empty() && services_.ai.count(config_.auto_reply.ai) != 0) {
    return {config_.auto_reply.ai};
  }
  if (services_.ai.size() == 1) {
    return {services_.ai.begin()->first};
  }
  return {};
}

void FlowEngine::Impl::callAiChain(std::shared_ptr<AiCall> call, size_t index,
                                   std::function<void(AiAnswer)> done) {
  if (call->chain.empty()) {
    AiAnswer a;
    a.outcome.rc = waflow::Rc::kError;
    a.outcome.error = services_.ai.empty()
                          ? "no AI provider is configured (ai: in waflow.yaml)"
                          : "several AI instances are configured and none is named: set provider "
                            "in the step or auto_reply.ai";
    done(std::move(a));
    return;
  }
  const std::string provider = call->chain[index];
  plugin::PluginInstance* ai = aiInstance(provider);
  auto give_up_or_next = [this, call, index, provider, done](plugin::CallOutcome o) mutable {
    call->errors += (call->errors.empty() ? "" : "; ") + provider + ": " + o.error;
    if (index + 1 < call->chain.size()) {
      flowLogger()->warn("{}: AI '{}' failed ({}); trying '{}'", call->where, provider, o.error,
                         call->chain[index + 1]);
      callAiChain(call, index + 1, std::move(done));
      return;
    }
    AiAnswer a;
    a.provider = provider;
    a.outcome = std::move(o);
    a.outcome.error = call->errors;
    done(std::move(a));
  };
  if (ai == nullptr) {
    plugin::CallOutcome o;
    o.rc = waflow::Rc::kError;
    o.error = "no AI instance '" + provider + "' in waflow.yaml";
    give_up_or_next(std::move(o));
    return;
  }
  Json request = call->request;
  if (call->timeout_ms) {
    request["timeout_ms"] = *call->timeout_ms;
  }
  waflow::AiRequest r{request.dump(-1, ' ', false, Json::error_handler_t::replace),
                      call->conversation, call->request_id};
  auto started = std::chrono::steady_clock::now();
  ai->complete(r, [this, call, provider, started, give_up_or_next = std::move(give_up_or_next),
                   done](plugin::CallOutcome o) mutable {
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (o.ok() && o.value.empty() && o.detail_json.find("tool_calls") == std::string::npos) {
      o.rc = waflow::Rc::kError;
      o.error = "the AI provider answered nothing";
    }
    Json usage = recordUsage(*call, provider, o, latency.count());
    if (!o.ok()) {
      give_up_or_next(std::move(o));
      return;
    }
    AiAnswer a;
    a.provider = provider;
    a.usage = std::move(usage);
    a.outcome = std::move(o);
    done(std::move(a));
  });
}

Json FlowEngine::Impl::recordUsage(const AiCall& call, const std::string& provider,
                                   const plugin::CallOutcome& o, int64_t latency_ms) {
  Json details = json_input::parseOrDiscarded(o.detail_json.empty() ? "{}" : o.detail_json);
  if (!details.is_object()) {
    details = Json::object();
  }
  const Json usage = details.value("usage", Json::object());
  auto tokens = [&](const char* name) {
    auto it = usage.find(name);
    return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
  };
  Json record = {{"channel", call.channel},
                 {"contact", call.contact},
                 {"flow", call.flow},
                 {"step", call.step},
                 {"provider", provider},
                 {"model", jsonString(details, "model")},
                 {"prompt_tokens", tokens("prompt_tokens")},
                 {"completion_tokens", tokens("completion_tokens")},
                 {"cached_tokens", tokens("cached_tokens")},
                 {"reasoning_tokens", tokens("reasoning_tokens")},
                 {"cost", nullptr},
                 {"ok", o.ok()},
                 {"latency_ms", latency_ms},
                 {"at", flowNowMs()}};
  // The price table of the instance: the model's row, else "*".
  for (const auto& instance : config_.ai) {
    if (instance.id != provider) {
      continue;
    }
    const Json& prices = instance.prices;
    const std::string model = record["model"];
    auto row = prices.find(model);
    if (row == prices.end()) {
      row = prices.find("*");
    }
    if (row != prices.end() && row->is_object() && o.ok()) {
      double in = row->value("input", 0.0);
      double cached_in = row->value("cached_input", in);
      double out = row->value("output", 0.0);
      int64_t prompt = record["prompt_tokens"];
      int64_t cached = std::min(record["cached_tokens"].get<int64_t>(), prompt);
      int64_t completion = record["completion_tokens"];
      record["cost"] = ((prompt - cached) * in + cached * cached_in + completion * out) / 1e6;
    }
  }
  services_.metrics
      .counter("waflow_ai_calls_total", "AI provider calls by instance and outcome.",
               {{"provider", provider}, {"outcome", o.ok() ? "ok" : "error"}})
      .inc();
  for (const char* kind : {"prompt_tokens", "completion_tokens"}) {
    if (int64_t n = record[kind]; n > 0) {
      services_.metrics
          .counter("waflow_ai_tokens_total", "Tokens used by AI calls, by instance and kind.",
                   {{"provider", provider},
                    {"kind", kind == std::string("prompt_tokens") ? "prompt" : "completion"}})
          .inc(static_cast<uint64_t>(n));
    }
  }
  Json summary = {{"provider", provider},
                  {"model", record["model"]},
                  {"prompt_tokens", record["prompt_tokens"]},
                  {"completion_tokens", record["completion_tokens"]},
                  {"cost", record["cost"]}};
  queueUsage(std::move(record));
  return summary;
}

namespace {
constexpr size_t kUsageBatch = 256;
constexpr std::chrono::milliseconds kUsageFlushDelay{200};
}  // namespace

void FlowEngine::Impl::queueUsage(Json record) {
  bool full = false;
  bool arm = false;
  {
    std::lock_guard lock(usage_mutex_);
    pending_usage_.push_back(std::move(record));
    full = pending_usage_.size() >= kUsageBatch;
    arm = !full && !usage_flush_armed_;
    usage_flush_armed_ = usage_flush_armed_ || arm;
  }
  if (full) {
    flushUsage();
  } else if (arm) {
    // The timer is used from the I/O threads only.
    boost::asio::post(services_.io, [self = shared_from_this()] {
      self->usage_timer_.expires_after(kUsageFlushDelay);
      self->usage_timer_.async_wait(
          [self](const boost::system::error_code&) { self->flushUsage(); });
    });
  }
}

void FlowEngine::Impl::flushUsage() {
  std::vector<Json> batch;
  {
    std::lock_guard lock(usage_mutex_);
    batch.swap(pending_usage_);
    usage_flush_armed_ = false;
  }
  if (batch.empty()) {
    return;
  }
  size_t n = batch.size();
  callStorage(services_.storage, "usage.add", {{"records", std::move(batch)}},
              [n](plugin::CallOutcome stored, Json) {
                if (!stored.ok()) {
                  flowLogger()->warn("token usage of {} AI call(s) was not recorded: {}", n,
                                     stored.error);
                }
              });
}

std::shared_ptr<FlowEngine::Impl::AiCall> FlowEngine::Impl::newAiCall(
    const ExecPtr& x, const flow::Step& step, const std::vector<std::string>& providers) {
  auto call = std::make_shared<AiCall>();
  call->chain = aiChain(providers);
  call->timeout_ms = step.timeout_ms;
  call->flow = x->flow->id;
  call->step = step.id;
  call->where = stepWhere(*x->flow, &step, x->run.step);
  call->request_id = x->request_id;
  if (x->entry) {
    call->channel = x->entry->channel;
    call->contact = x->entry->contact;
    call->conversation = x->entry->key;
  }
  return call;
}

// ---- memory, recall, typing ---------------------------------------------------------------

void FlowEngine::Impl::loadHistory(const ExecPtr& x, int limit, int64_t budget_tokens,
                                   std::set<std::string> exclude,
                                   std::function<void(Json messages, Json all)> done) {
  if (limit <= 0 || x->entry == nullptr) {
    done(Json::array(), Json::array());
    return;
  }
  Json input = {{"channel", x->entry->channel},
                {"contact", x->entry->contact},
                {"limit", std::min<int64_t>(500, limit + static_cast<int64_t>(exclude.size()))}};
  callStorage(
      services_.storage, "message.history", input,
      [limit, budget_tokens, exclude = std::move(exclude), where = x->entry->key,
       done = std::move(done)](plugin::CallOutcome o, Json out) {
        if (!o.ok()) {
          flowLogger()->warn(
              "{}: the conversation's history could not be read ({}); the "
              "AI answers without it",
              where, o.error);
          done(Json::array(), Json::array());
          return;
        }
        const Json all = out.value("messages", Json::array());
        std::vector<Json> turns;
        for (const Json& m : all) {
          std::string text = jsonString(m, "text");
          if (text.empty() || exclude.count(jsonString(m, "id")) != 0) {
            continue;
          }
          turns.push_back({{"role", jsonString(m, "direction") == "out" ? "assistant" : "user"},
                           {"content", std::move(text)}});
        }
        // The newest `limit` turns, and of those as many as fit the budget.
        size_t first = turns.size() > static_cast<size_t>(limit)
                           ? turns.size() - static_cast<size_t>(limit)
                           : 0;
        if (budget_tokens > 0) {
          int64_t used = 0;
          size_t keep = turns.size();
          while (keep > first) {
            int64_t t = estimateTokens(turns[keep - 1]["content"].get<std::string>());
            if (used + t > budget_tokens) {
              break;
            }
            used += t;
            --keep;
          }
          first = keep;
        }
        Json messages = Json::array();
        for (size_t i = first; i < turns.size(); ++i) {
          messages.push_back(std::move(turns[i]));
        }
        done(std::move(messages), all);
      });
}

void FlowEngine::Impl::recallHistory(const ExecPtr& x, int count, const std::string& question,
                                     std::set<std::string> exclude,
                                     std::function<void(std::string block)> done) {
  if (count <= 0 || x->entry == nullptr) {
    done("");
    return;
  }
  Json input = {{"channel", x->entry->channel}, {"contact", x->entry->contact}, {"limit", 500}};
  callStorage(
      services_.storage, "message.history", input,
      [count, question, exclude = std::move(exclude), done = std::move(done)](plugin::CallOutcome o,
                                                                              Json out) {
        if (!o.ok()) {
          done("");
          return;
        }
        std::vector<std::string> texts;
        std::vector<int64_t> times;
        for (const Json& m : out.value("messages", Json::array())) {
          if (jsonString(m, "direction") != "in" || exclude.count(jsonString(m, "id")) != 0 ||
              jsonString(m, "text").empty()) {
            continue;
          }
          texts.push_back(jsonString(m, "text"));
          times.push_back(m.value("at", int64_t{0}));
        }
        std::string block;
        for (const auto& hit : knowledge::rankTexts(question, texts, static_cast<size_t>(count))) {
          std::time_t secs = static_cast<std::time_t>(times[hit.index] / 1000);
          std::tm tm{};
          gmtime_r(&secs, &tm);
          char date[16];
          std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
          block += fmt::format("- ({}) {}\n", date, texts[hit.index]);
        }
        done(block);
      });
}

void FlowEngine::Impl::showTyping(const ExecPtr& x) {
  const std::string message_id = jsonString(x->message, "id");
  if (x->entry == nullptr || message_id.empty()) {
    return;
  }
  auto it = services_.channels.find(x->entry->channel);
  if (it == services_.channels.end()) {
    return;
  }
  waflow::OutboundMessage m;
  m.to = x->entry->contact;
  m.type = "typing";
  m.reply_to = message_id;
  m.payload_json = Json{{"message_id", message_id}}.dump();
  // Best effort: the indicator is a courtesy, the answer does not wait for it.
  it->second->send(m, [where = x->entry->key](plugin::CallOutcome o) {
    if (!o.ok()) {
      flowLogger()->debug("{}: no typing indicator: {}", where, o.error);
    }
  });
}

void FlowEngine::Impl::handOff(const ExecPtr& x, const std::string& note, const std::string& team,
                               int64_t release_after_ms) {
  auto& state = x->entry->state;
  if (release_after_ms <= 0) {
    release_after_ms = config_.flows.handoff_release_after.count();
  }
  state.handoff = true;
  state.handoff_team = team;
  state.handoff_at = flowNowMs();
  state.handoff_until = release_after_ms > 0 ? state.handoff_at + release_after_ms : 0;
  x->entry->dirty = true;
  Json event = {{"channel", x->entry->channel},
                {"contact", x->entry->contact},
                {"name", jsonString(x->entry->contact_json, "name")},
                {"note", note},
                {"team", team},
                {"flow", x->flow->id}};
  if (state.handoff_until > 0) {
    event["release_at"] = state.handoff_until;
  }
  publish("conversation.handoff", x->entry->key, event, x->request_id);
  flowLogger()->info("{}: handed to a human{} by flow '{}'", x->entry->key,
                     team.empty() ? "" : " (team " + team + ")", x->flow->id);
}

// ---- debounce -----------------------------------------------------------------------------

void FlowEngine::Impl::gatherUntilQuiet(ExecPtr x, int64_t quiet_ms, StepDone done) {
  // A message handled again after a crash (its inbox entry was not marked done yet) is
  // already in the burst.
  const std::string id = jsonString(x->message, "id");
  bool known = std::any_of(x->run.gathered.begin(), x->run.gathered.end(),
                           [&](const Json& m) { return jsonString(m, "id") == id; });
  if (!id.empty() && !known) {
    x->run.gathered.push_back(x->message);
  }
  if (!x->run.token.empty()) {
    scheduler_.cancel({fmt::format("resume:{}:{}", x->run.id, x->run.token)}, [](bool) {});
  }
  x->run.waiting = "gather";
  x->run.token = newToken();
  Scheduler::Job j;
  j.id = fmt::format("resume:{}:{}", x->run.id, x->run.token);
  j.kind = "run.resume";
  j.due_at = flowNowMs() + quiet_ms;
  j.conversation = x->entry->key;
  j.payload = {{"run_id", x->run.id},
               {"token", x->run.token},
               {"channel", x->entry->channel},
               {"contact", x->entry->contact}};
  scheduler_.add({std::move(j)}, false, [x, done = std::move(done)](bool stored) {
    if (!stored) {
      x->run.waiting.clear();
      return done(StepOutcome::failed("the debounce wait could not be stored"));
    }
    StepOutcome o;
    o.control = StepOutcome::Control::kSuspend;
    done(std::move(o));
  });
}

void FlowEngine::Impl::gatherMore(ExecPtr x, StepDone done) {
  const flow::Step& step = x->flow->steps[x->run.step];
  const auto* a = std::get_if<flow::AiStep>(&step.spec);
  if (a == nullptr) {
    return done(StepOutcome::failed("the run waited at a step that is no longer an ai step"));
  }
  gatherUntilQuiet(std::move(x), std::max<int64_t>(a->debounce_ms, 1), std::move(done));
}

// ---- the ai step --------------------------------------------------------------------------

void FlowEngine::Impl::runAiStep(ExecPtr x, const flow::Step& step, const flow::AiStep& a,
                                 StepDone done) {
  if (a.debounce_ms > 0 && x->entry != nullptr && !x->gathered_done) {
    return gatherUntilQuiet(std::move(x), a.debounce_ms, std::move(done));
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
  if (auto e = render(x, a.prompt, false, prompt)) {
    return done(StepOutcome::failed(*e));
  }
  if (a.prompt.empty()) {
    prompt = gathered.empty() ? jsonString(x->message, "text") : burstText(gathered);
  }
  if (auto e = render(x, a.system, false, system)) {
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
    showTyping(x);
  }
  auto call = newAiCall(x, step, a.providers);
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
  auto ready = [this, x, state, pending]() {
    if (pending->fetch_sub(1) == 1) {
      askAi(x, state);
    }
  };
  loadHistory(x, a.history, a.history_tokens, state->exclude, [state, ready](Json messages, Json) {
    state->history = std::move(messages);
    ready();
  });
  recallHistory(x, a.recall, state->prompt, state->exclude, [state, ready](std::string block) {
    state->recalled = std::move(block);
    ready();
  });
  searchKnowledge(a.knowledge, state->prompt, a.passages, [state, ready](Json passages) {
    state->passages = std::move(passages);
    ready();
  });
}

void FlowEngine::Impl::searchKnowledge(const std::vector<std::string>& bases,
                                       const std::string& question, int limit,
                                       std::function<void(Json passages)> done) {
  if (bases.empty() || question.empty()) {
    done(Json::array());
    return;
  }
  struct Search {
    std::mutex mutex;
    std::vector<knowledge::Passage> found;
    size_t left;
  };
  auto search = std::make_shared<Search>();
  search->left = bases.size();
  // Called once per knowledge base; the last one answers with the best passages of all.
  auto finish = [search, limit, done](std::vector<knowledge::Passage> passages) {
    {
      std::lock_guard lock(search->mutex);
      for (auto& p : passages) {
        search->found.push_back(std::move(p));
      }
      if (--search->left != 0) {
        return;
      }
    }
    std::stable_sort(search->found.begin(), search->found.end(),
                     [](const auto& l, const auto& r) { return l.score > r.score; });
    Json out = Json::array();
    for (const auto& p : search->found) {
      if (out.size() >= static_cast<size_t>(limit)) {
        break;
      }
      out.push_back({{"knowledge", p.knowledge},
                     {"path", p.path},
                     {"title", p.title},
                     {"text", p.text},
                     {"score", p.score}});
    }
    done(std::move(out));
  };
  for (const std::string& id : bases) {
    auto it = services_.knowledge.find(id);
    if (it == services_.knowledge.end()) {
      flowLogger()->warn("knowledge base '{}' is not configured (knowledge: in waflow.yaml)", id);
      finish({});
      continue;
    }
    it->second->search(
        question, static_cast<size_t>(limit), [finish, id](KnowledgeBase::SearchResult result) {
          if (!result.error.empty()) {
            flowLogger()->warn("knowledge base '{}' could not be searched: {}", id, result.error);
          }
          finish(std::move(result.passages));
        });
  }
}

void FlowEngine::Impl::askAi(ExecPtr x, std::shared_ptr<AiStepState> state) {
  const flow::AiStep& a = *state->spec;
  if (a.grounded && state->passages.empty()) {
    return aiFallback(x, state, "the knowledge base has nothing relevant to the question");
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
  askAiRound(std::move(x), std::move(state), 0);
}

// The AI may call the step's tools a few times before it answers; more rounds than this is a
// model going in circles.
constexpr int kMaxToolRounds = 5;

namespace {

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

}  // namespace

Json FlowEngine::Impl::runTool(const ExecPtr& x, const flow::AiStep& a, const Json& call,
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
  lua::CallResult r = lua(x->set).call(tool->function, Json::array({args}), context(*x));
  if (!r.ok()) {
    flowLogger()->warn("{}: the tool '{}' failed: {}", x->entry ? x->entry->key : x->flow->id, name,
                       r.error->text());
    return {{"error", "the tool failed"}};
  }
  mergeContactChanges(changes, r.contact);
  return r.value;
}

void FlowEngine::Impl::askAiRound(ExecPtr x, std::shared_ptr<AiStepState> state, int round) {
  callAiChain(state->call, 0, [this, x, state, round](AiAnswer answer) {
    const flow::AiStep& spec = *state->spec;
    if (answer.outcome.ok() && !spec.tools.empty()) {
      Json details = json_input::parseOrDiscarded(answer.outcome.detail_json);
      const Json calls =
          details.is_object() ? details.value("tool_calls", Json::array()) : Json::array();
      if (calls.is_array() && !calls.empty()) {
        if (round + 1 >= kMaxToolRounds) {
          answer.outcome.rc = waflow::Rc::kError;
          answer.outcome.error =
              fmt::format("the AI still called tools after {} rounds", kMaxToolRounds);
        } else {
          Json& messages = state->call->request["messages"];
          Json assistant = details.value("assistant_message", Json());
          if (!assistant.is_object()) {
            assistant = {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}};
          }
          messages.push_back(std::move(assistant));
          lua::ContactChanges changes;
          for (const Json& call : calls) {
            Json result = runTool(x, spec, call, changes);
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
            return askAiRound(x, state, round + 1);
          }
          // What the tools changed on the contact is stored before the AI is asked again, so
          // the next round's tools and the rest of the flow see it.
          return updateContact(x->entry, changes.set, changes.tags_added, changes.tags_removed,
                               [this, x, state, round](bool ok, std::string error) {
                                 if (!ok) {
                                   flowLogger()->warn(
                                       "{}: saving what the AI's tools changed on the contact "
                                       "failed: {}",
                                       x->entry ? x->entry->key : x->flow->id, error);
                                 }
                                 askAiRound(x, state, round + 1);
                               });
        }
      }
    }
    if (!answer.outcome.ok() || answer.outcome.value.empty()) {
      const std::string error =
          answer.outcome.ok() ? "the AI provider answered nothing" : answer.outcome.error;
      if (spec.fallback) {
        return aiFallback(x, state, "AI: " + error);
      }
      return state->done(StepOutcome::failed("AI: " + error));
    }
    if (spec.grounded && saysNoAnswer(answer.outcome.value)) {
      return aiFallback(x, state, "the knowledge base passages do not answer the question");
    }
    Json output = {
        {"text", answer.outcome.value}, {"provider", answer.provider}, {"usage", answer.usage}};
    if (Json details = json_input::parseOrDiscarded(answer.outcome.detail_json);
        details.is_object()) {
      output["details"] = std::move(details);
    }
    if (!state->tools_used.empty()) {
      output["tools"] = state->tools_used;
    }
    if (!state->passages.empty()) {
      Json sources = Json::array();
      for (const Json& p : state->passages) {
        sources.push_back({{"path", p["path"]}, {"title", p["title"]}, {"score", p["score"]}});
      }
      output["sources"] = std::move(sources);
    }
    if (!spec.reply) {
      return state->done(StepOutcome::next(std::move(output)));
    }
    send(x, "text", answer.outcome.value, "",
         [done = state->done, output](bool ok, std::string id) mutable {
           if (!ok) {
             return done(StepOutcome::failed(id));
           }
           output["id"] = id;
           done(StepOutcome::next(std::move(output)));
         });
  });
}

void FlowEngine::Impl::aiFallback(ExecPtr x, std::shared_ptr<AiStepState> state,
                                  const std::string& why) {
  const flow::AiStep& a = *state->spec;
  if (!a.fallback) {
    return state->done(StepOutcome::failed(why));
  }
  flowLogger()->warn("{}: {}; the fallback answers", state->call->where, why);
  std::string reply, note;
  if (auto e = render(x, a.fallback->reply, true, reply)) {
    return state->done(StepOutcome::failed(*e));
  }
  if (auto e = render(x, a.fallback->note, false, note)) {
    return state->done(StepOutcome::failed(*e));
  }
  Json output = {{"fallback", true}, {"error", why}, {"text", reply}};
  auto finish = [this, x, state, note, output]() mutable {
    if (state->spec->fallback->handoff && x->entry != nullptr) {
      handOff(x, note.empty() ? output["error"].get<std::string>() : note, "");
      output["handoff"] = true;
    }
    state->done(StepOutcome::next(std::move(output)));
  };
  if (reply.empty() || x->entry == nullptr) {
    return finish();
  }
  send(x, "text", reply, "", [state, finish = std::move(finish)](bool ok, std::string id) mutable {
    if (!ok) {
      return state->done(StepOutcome::failed(id));
    }
    finish();
  });
}

// ---- the classify step --------------------------------------------------------------------

void FlowEngine::Impl::runClassifyStep(ExecPtr x, const flow::Step& step,
                                       const flow::ClassifyStep& c, StepDone done) {
  std::string text;
  if (auto e = render(x, c.text, false, text)) {
    return done(StepOutcome::failed(*e));
  }
  if (c.text.empty()) {
    text = jsonString(x->message, "text");
  }
  std::string system;
  Json schema;
  if (!c.categories.empty()) {
    system =
        "Classify the customer's message into exactly one of these categories. Answer with "
        "the category name only.\n";
    Json names = Json::array();
    for (const auto& [name, description] : c.categories) {
      system += "- " + name + (description.empty() ? "" : ": " + description) + "\n";
      names.push_back(name);
    }
    schema = {{"type", "object"},
              {"properties", {{"category", {{"type", "string"}, {"enum", names}}}}},
              {"required", {"category"}},
              {"additionalProperties", false}};
  } else {
    system = fieldsInstructions(c.fields);
    schema = fieldsSchema(c.fields);
  }
  auto call = newAiCall(x, step, c.providers);
  std::set<std::string> exclude;
  if (std::string id = jsonString(x->message, "id"); !id.empty()) {
    exclude.insert(id);
  }
  // What the result is checked against and where it goes: copied, since a background
  // classification outlives the run's turn.
  auto job = std::make_shared<ClassifyJob>();
  job->categories = c.categories;
  job->fields = c.fields;
  job->insight = c.insight;
  job->save_to_contact = c.save_to_contact;
  job->background = c.background;
  job->call = call;
  job->text = text;
  const bool background = c.background;
  loadHistory(x, c.history, 0, std::move(exclude),
              [this, x, job, system, schema, background, done](Json history, Json) mutable {
                Json messages = std::move(history);
                messages.push_back({{"role", "user"}, {"content", job->text}});
                job->call->request = {{"system", system},
                                      {"messages", std::move(messages)},
                                      {"temperature", 0},
                                      {"max_tokens", 400},
                                      {"json_schema", schema}};
                if (background) {
                  // The flow goes on now; the result is stored when it arrives.
                  classifyAndStore(job, 0, [](StepOutcome) {});
                  return done(StepOutcome::next({{"background", true}}));
                }
                classifyAndStore(job, 0, [this, x, job, done](StepOutcome o) {
                  if (!o.ok || !job->save_to_contact || x->entry == nullptr) {
                    return done(std::move(o));
                  }
                  Json values = o.output;
                  values.erase("text");
                  values.erase("provider");
                  updateContact(x->entry, values, {}, {},
                                [done, o](bool ok, std::string error) mutable {
                                  done(ok ? std::move(o) : StepOutcome::failed(error));
                                });
                });
              });
}

void FlowEngine::Impl::classifyAndStore(std::shared_ptr<ClassifyJob> job, int attempt,
                                        StepDone done) {
  callAiChain(job->call, 0, [this, job, attempt, done](AiAnswer answer) {
    const AiCall& call = *job->call;
    if (!answer.outcome.ok()) {
      flowLogger()->warn("{}: classification failed: {}", call.where, answer.outcome.error);
      return done(StepOutcome::failed("AI: " + answer.outcome.error));
    }
    const std::string& said = answer.outcome.value;
    Json result;
    std::string problem;
    if (!job->categories.empty()) {
      if (auto category = categoryIn(said, job->categories)) {
        result = {{"category", *category}};
      } else {
        problem = "it names none of the categories";
      }
    } else {
      auto checked = checkFields(said, job->fields);
      if (auto* v = std::get_if<Json>(&checked)) {
        result = std::move(*v);
      } else {
        problem = std::get<std::string>(checked);
      }
    }
    if (result.is_null()) {
      if (attempt == 0) {
        // Once more, telling the model what was wrong.
        flowLogger()->info("{}: the AI's classification was not valid ({}); asking again",
                           call.where, problem);
        Json& messages = job->call->request["messages"];
        messages.push_back({{"role", "assistant"}, {"content", said}});
        messages.push_back(
            {{"role", "user"},
             {"content", "That answer is not valid: " + problem +
                             ". Answer again with only the JSON object, following the "
                             "instructions exactly."}});
        return classifyAndStore(job, 1, done);
      }
      flowLogger()->warn("{}: the AI's classification was not valid twice ({}): '{}'", call.where,
                         problem, said.substr(0, 120));
      return done(StepOutcome::failed("the AI's answer was not a valid classification twice (" +
                                      problem + "): '" + said.substr(0, 80) + "'"));
    }
    std::string source = answer.provider;
    if (std::string model = jsonString(answer.usage, "model"); !model.empty()) {
      source += "/" + model;
    }
    Json output = result;
    output["text"] = said;
    output["provider"] = answer.provider;
    auto finish = [this, job, result, done, output]() mutable {
      if (job->save_to_contact && job->background && !job->call->contact.empty()) {
        // Another turn may hold the conversation now: the contact is updated in order, as a
        // job of its conversation.
        Scheduler::Job j;
        j.id = fmt::format("contact.set:{}:{}", job->call->request_id, newToken());
        j.kind = "contact.set";
        j.due_at = flowNowMs();
        j.conversation = job->call->conversation;
        j.payload = {
            {"channel", job->call->channel}, {"contact", job->call->contact}, {"values", result}};
        scheduler_.add({std::move(j)}, false, [where = job->call->where](bool stored) {
          if (!stored) {
            flowLogger()->warn("{}: the classification could not be saved to the contact", where);
          }
        });
      }
      done(StepOutcome::next(std::move(output)));
    };
    if (job->insight.empty() || job->call->contact.empty()) {
      return finish();
    }
    Json insight = {{"channel", job->call->channel},
                    {"contact", job->call->contact},
                    {"kind", job->insight},
                    {"data", result},
                    {"flow", job->call->flow},
                    {"step", job->call->step},
                    {"source", source}};
    callStorage(services_.storage, "insight.put", insight,
                [where = job->call->where, finish = std::move(finish)](plugin::CallOutcome o,
                                                                       Json) mutable {
                  if (!o.ok()) {
                    flowLogger()->warn("{}: the insight was not stored: {}", where, o.error);
                  }
                  finish();
                });
  });
}

}  // namespace waflow::core::app

// The classify step: a message sorted into the flow's categories, or its fields extracted,
// checked against the flow's declaration (asked again when the answer does not fit) and stored
// as an insight.
#include "engine/steps/runners.h"

#include "engine/basics.h"
#include "engine/steps/ai/classify_fields.h"
#include "engine/steps/ai/memory.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>

#include <set>

namespace waflow::core::engine::steps {

namespace {

// A classification: copied out of the flow, since a background one outlives its turn.
struct ClassifyJob {
  std::vector<std::pair<std::string, std::string>> categories;
  std::vector<flow::ClassifyField> fields;
  std::string insight;
  bool save_to_contact = false;
  bool background = false;
  std::string text;
  std::shared_ptr<AiCall> call;
};

// Asks for the classification, checks it (asking once more when it does not fit), stores it
// as an insight and, for a background one, saves it to the contact as a job of its
// conversation.
void classifyAndStore(StepContext& ctx, std::shared_ptr<ClassifyJob> job, int attempt,
                      StepDone done);

}  // namespace

// ---- the classify step --------------------------------------------------------------------

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ClassifyStep& c,
         StepDone done) {
  std::string text;
  if (auto e = ctx.render(x, c.text, false, text)) {
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
  auto call = ctx.ai().newCall(*x, step, c.providers);
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
  loadHistory(ctx.storage(), *x, c.history, 0, std::move(exclude),
              [&ctx, x, job, system, schema, background, done](Json history, Json) mutable {
                Json messages = std::move(history);
                messages.push_back({{"role", "user"}, {"content", job->text}});
                job->call->request = {{"system", system},
                                      {"messages", std::move(messages)},
                                      {"temperature", 0},
                                      {"max_tokens", 400},
                                      {"json_schema", schema}};
                if (background) {
                  // The flow goes on now; the result is stored when it arrives.
                  classifyAndStore(ctx, job, 0, [](StepOutcome) {});
                  return done(StepOutcome::next({{"background", true}}));
                }
                classifyAndStore(ctx, job, 0, [&ctx, x, job, done](StepOutcome o) {
                  if (!o.ok || !job->save_to_contact || x->entry == nullptr) {
                    return done(std::move(o));
                  }
                  Json values = o.output;
                  values.erase("text");
                  values.erase("provider");
                  ctx.updateContact(x->entry, values, {}, {},
                                    [done, o](bool ok, std::string error) mutable {
                                      done(ok ? std::move(o) : StepOutcome::failed(error));
                                    });
                });
              });
}

namespace {

void classifyAndStore(StepContext& ctx, std::shared_ptr<ClassifyJob> job, int attempt,
                      StepDone done) {
  ctx.ai().ask(job->call, [&ctx, job, attempt, done](AiAnswer answer) {
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
        return classifyAndStore(ctx, job, 1, done);
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
    auto finish = [&ctx, job, result, done, output]() mutable {
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
        ctx.scheduler().add({std::move(j)}, false, [where = job->call->where](bool stored) {
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
    ctx.storage().call(waflow::storage::kInsightPut, insight,
                       [where = job->call->where, finish = std::move(finish)](plugin::CallOutcome o,
                                                                              Json) mutable {
                         if (!o.ok()) {
                           flowLogger()->warn("{}: the insight was not stored: {}", where, o.error);
                         }
                         finish();
                       });
  });
}

}  // namespace

}  // namespace waflow::core::engine::steps

// The steps that reach outside the flow: http (a request to an allowed host), emit (an event on
// the bus) and lua (a function of scripts/).
#include "engine/steps/runners.h"

#include "engine/basics.h"
#include "json/bounded_parse.h"
#include "text/normalize.h"

#include <fmt/format.h>

namespace waflow::core::engine::steps {

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::HttpStep& h,
         StepDone done) {
  const int line = step.pos.line;
  ClientRequest req;
  req.method = h.method;
  if (auto e = ctx.render(x, h.url, false, req.url)) {
    return done(StepOutcome::failed(*e));
  }
  for (const auto& [name, value] : h.headers) {
    std::string v;
    if (auto e = ctx.render(x, value, false, v)) {
      return done(StepOutcome::failed(*e));
    }
    req.headers.emplace_back(name, std::move(v));
  }
  if (!h.body_text.empty()) {
    if (auto e = ctx.render(x, h.body_text, false, req.body)) {
      return done(StepOutcome::failed(*e));
    }
  } else if (!h.body.is_null()) {
    Json body;
    if (auto e = ctx.renderValue(x, line, h.body, body)) {
      return done(StepOutcome::failed(*e));
    }
    req.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    bool has_type = false;
    for (const auto& [name, _] : req.headers) {
      has_type |= text::normalizeText(name) == "content type";
    }
    if (!has_type) {
      req.headers.emplace_back("Content-Type", "application/json");
    }
  }
  if (step.timeout_ms) {
    req.timeout = std::chrono::milliseconds(*step.timeout_ms);
  }
  std::string method = req.method;
  std::string url = req.url.substr(0, req.url.find('?'));
  ctx.http().send(std::move(req), [done, method, url](ClientResponse r) {
    if (!r.ok()) {
      return done(StepOutcome::failed(r.error_message.empty() ? std::string(toString(r.error))
                                                              : r.error_message));
    }
    Json headers = Json::object();
    for (const auto& [name, value] : r.headers) {
      headers[name] = value;
    }
    Json body = json_input::parseOrDiscarded(r.body);
    if (body.is_discarded()) {
      body = r.body;
    }
    Json output = {{"status", r.status}, {"headers", headers}, {"body", body}};
    if (r.status < 200 || r.status > 299) {
      return done(StepOutcome::failed(
          fmt::format("{} {} answered HTTP {}: {}", method, url, r.status, r.body.substr(0, 200))));
    }
    done(StepOutcome::next(std::move(output)));
  });
  return;
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::EmitStep& em,
         StepDone done) {
  const int line = step.pos.line;
  Json data;
  if (auto e = ctx.renderValue(x, line, em.data, data)) {
    return done(StepOutcome::failed(*e));
  }
  if (!data.is_object()) {
    data = Json{{"value", data}};
  }
  if (x->entry != nullptr) {
    data.emplace("channel", x->entry->channel);
    data.emplace("contact", x->entry->contact);
  }
  data.emplace("flow", x->flow->id);
  ctx.publish(em.event, x->entry ? x->entry->key : "", data, x->request_id);
  return done(StepOutcome::next(data));
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::LuaStep& l,
         StepDone done) {
  const int line = step.pos.line;
  Json args;
  if (auto e = ctx.renderValue(x, line, l.args, args)) {
    return done(StepOutcome::failed(*e));
  }
  Json list = Json::array();
  if (args.is_array()) {
    list = args;
  } else if (!(args.is_object() && args.empty()) && !args.is_null()) {
    list.push_back(args);  // a mapping arrives as one table: function f(args) ... args.x
  }
  lua::CallResult r = ctx.lua(x->set).call(l.function, list, ruleContext(*x));
  if (!r.ok()) {
    return done(StepOutcome::failed(r.error->text()));
  }
  if (r.contact.empty() || x->entry == nullptr) {
    return done(StepOutcome::next(std::move(r.value)));
  }
  return ctx.updateContact(x->entry, r.contact.set, r.contact.tags_added, r.contact.tags_removed,
                           [done, value = r.value](bool ok, std::string error) {
                             done(ok ? StepOutcome::next(value) : StepOutcome::failed(error));
                           });
}

}  // namespace waflow::core::engine::steps

// The contact steps: set attributes, tag and untag, hand the conversation to a human and take
// it back (release).
#include "engine/steps/runners.h"

#include "engine/flow_lua.h"

namespace waflow::core::engine::steps {

namespace {

void changeTags(StepContext& ctx, ExecPtr x, const flow::Step& step,
                const std::vector<std::string>& raw, bool adding, StepDone done) {
  const int line = step.pos.line;
  if (!needsContact(x, step, done)) {
    return;
  }
  std::vector<std::string> tags;
  for (const auto& t : raw) {
    Json v;
    if (auto e = ctx.renderValue(x, line, t, v)) {
      return done(StepOutcome::failed(*e));
    }
    std::string tag = FlowLua::toText(v);
    if (tag.empty()) {
      return done(StepOutcome::failed("the tag '" + t + "' came out empty"));
    }
    tags.push_back(std::move(tag));
  }
  std::vector<std::string> none;
  return ctx.updateContact(x->entry, adding ? Json::object() : Json::object(), adding ? tags : none,
                           adding ? none : tags, [done, tags](bool ok, std::string error) {
                             done(ok ? StepOutcome::next(tags) : StepOutcome::failed(error));
                           });
}

}  // namespace

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::SetStep& s,
         StepDone done) {
  const int line = step.pos.line;
  if (!needsContact(x, step, done)) {
    return;
  }
  Json values = Json::object();
  for (const auto& a : s.values) {
    Json v;
    if (auto e = ctx.renderValue(x, line, a.value, v)) {
      return done(StepOutcome::failed(*e));
    }
    values[a.attribute] = std::move(v);
  }
  return ctx.updateContact(x->entry, values, {}, {}, [done, values](bool ok, std::string error) {
    done(ok ? StepOutcome::next(values) : StepOutcome::failed(error));
  });
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::TagStep& t,
         StepDone done) {
  changeTags(ctx, std::move(x), step, t.tags, true, std::move(done));
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::UntagStep& u,
         StepDone done) {
  changeTags(ctx, std::move(x), step, u.tags, false, std::move(done));
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::HandoffStep& h,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  std::string note;
  if (auto e = ctx.render(x, h.note, false, note)) {
    return done(StepOutcome::failed(*e));
  }
  ctx.handOff(x, note, h.team, h.release_after_ms);
  return done(StepOutcome::next({{"note", note}, {"team", h.team}}));
}

void run(StepContext& ctx, ExecPtr x, const flow::Step& step, const flow::ReleaseStep& rel,
         StepDone done) {
  if (!needsContact(x, step, done)) {
    return;
  }
  std::string note;
  if (auto e = ctx.render(x, rel.note, false, note)) {
    return done(StepOutcome::failed(*e));
  }
  x->entry->state.handoff = false;
  x->entry->dirty = true;
  ctx.publish("conversation.released", x->entry->key,
              {{"channel", x->entry->channel},
               {"contact", x->entry->contact},
               {"note", note},
               {"by", "flow"},
               {"flow", x->flow->id}},
              x->request_id);
  return done(StepOutcome::next({{"note", note}}));
}

}  // namespace waflow::core::engine::steps

// Runs of flows: starting one per its mode, stepping through it, waiting, ending. Part of
// FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "engine/steps/run_step.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <algorithm>

namespace waflow::core::engine {

// ---- runs ----------------------------------------------------------------------------------

ExecPtr FlowEngine::Impl::newExec(std::shared_ptr<const FlowSet> set, EntryPtr entry,
                                  const flow::Flow& flow, std::string run_id, Json trigger,
                                  Json message, std::string request_id, Json globals,
                                  std::shared_ptr<const text::NormalizedText> words) {
  auto x = std::make_shared<Exec>();
  x->words = std::move(words);
  x->set = std::move(set);
  x->entry = std::move(entry);
  x->flow = &flow;
  x->run.id = std::move(run_id);
  x->run.flow = flow.id;
  x->run.trigger = std::move(trigger);
  x->run.started_at = flowNowMs();
  x->message = std::move(message);
  x->request_id = std::move(request_id);
  x->globals = std::move(globals);
  return x;
}

bool FlowEngine::Impl::startRun(std::shared_ptr<const FlowSet> set, EntryPtr entry,
                                const flow::Flow& flow, std::string run_id, Json trigger,
                                Json message, std::string request_id, Json globals,
                                std::function<void()> finished,
                                std::shared_ptr<const text::NormalizedText> words) {
  if (entry != nullptr) {
    ConversationState& state = entry->state;
    size_t running = state.runsOf(flow.id);
    if (running > 0) {
      switch (flow.mode) {
        case flow::Mode::kSingle:
          return false;
        case flow::Mode::kRestart:
          for (size_t i = state.runs.size(); i-- > 0;) {
            if (state.runs[i].flow == flow.id ||
                state.runs[i].trigger.value("flow", "") == flow.id) {
              state.runs.erase(state.runs.begin() + static_cast<std::ptrdiff_t>(i));
            }
          }
          entry->dirty = true;
          break;
        case flow::Mode::kQueued: {
          size_t queued = 0;
          for (const auto& q : state.queued) {
            queued += q.flow == flow.id ? 1 : 0;
          }
          if (queued >= static_cast<size_t>(flow.max)) {
            flowLogger()->warn("{}: flow '{}' already has {} run(s) queued (max {}); not queueing",
                               entry->key, flow.id, queued, flow.max);
            return false;
          }
          state.queued.push_back(QueuedRun{run_id, flow.id, trigger, message});
          entry->dirty = true;
          conversations_.saveState(entry, std::move(finished));
          return true;
        }
        case flow::Mode::kParallel:
          if (running >= static_cast<size_t>(flow.max)) {
            return false;
          }
          break;
      }
    }
  }
  trigger["flow"] = flow.id;
  ExecPtr x =
      newExec(std::move(set), std::move(entry), flow, std::move(run_id), std::move(trigger),
              std::move(message), std::move(request_id), std::move(globals), std::move(words));
  x->finished = std::move(finished);
  runs_started_->inc();
  flowLogger()->debug("{}: flow '{}' starts (run {})", x->entry ? x->entry->key : "-", flow.id,
                      x->run.id);
  next(x);
  return true;
}

void FlowEngine::Impl::resumeRun(EntryPtr entry, const std::string& run_id, Json message,
                                 std::string request_id, std::function<void(ExecPtr)> prepare,
                                 std::function<void()> finished) {
  FlowRun* stored = entry->state.findRun(run_id);
  if (stored == nullptr) {
    finished();
    return;
  }
  auto set = current();
  const flow::Flow* flow = set->find(stored->flow);
  if (flow == nullptr || stored->step >= flow->steps.size()) {
    flowLogger()->info("{}: run {} waited in flow '{}', which no longer has that step; it ends",
                       entry->key, run_id, stored->flow);
    entry->state.removeRun(run_id);
    entry->dirty = true;
    conversations_.saveState(entry, std::move(finished));
    return;
  }
  auto x = std::make_shared<Exec>();
  x->set = set;
  x->flow = flow;
  x->run = *stored;
  entry->state.removeRun(run_id);  // back into the state if it waits again
  entry->dirty = true;
  x->entry = std::move(entry);
  x->message = std::move(message);
  x->request_id = std::move(request_id);
  x->finished = std::move(finished);
  prepare(x);
}

void FlowEngine::Impl::next(ExecPtr x) {
  while (true) {
    if (x->run.step >= x->flow->steps.size()) {
      if (returnFromCall(x)) {
        continue;
      }
      endRun(x, "");
      return;
    }
    const flow::Step& step = x->flow->steps[x->run.step];
    if (++x->steps_taken > kMaxStepsPerTurn) {
      flowLogger()->error(
          "{}: ran {} steps without waiting for anything; stopping the run (is there a goto "
          "loop?)",
          stepWhere(*x->flow, &step, x->run.step), kMaxStepsPerTurn);
      endRun(x, "step limit");
      return;
    }
    if (step.if_expression) {
      std::optional<bool> run_it;
      if (auto fast = x->set->fast_rules.find(&*step.if_expression);
          fast != x->set->fast_rules.end()) {
        static const Json kNoContact = Json::object();
        run_it = fast->second.evaluate(x->message, x->entry ? x->entry->contact_json : kNoContact,
                                       x->run.steps, x->run.trigger, &textWords(*x));
      }
      if (!run_it) {
        // An expression that reads none of the context (`time.in_business_hours(...)`) runs
        // without one being built.
        static const lua::RuleContext kNoContext;
        bool reads_context = x->set->context_free.count(&*step.if_expression) == 0;
        lua::CallResult r =
            lua(x->set).evaluate(*step.if_expression, reads_context ? ruleContext(*x) : kNoContext);
        if (!r.ok()) {
          stepFailed(x, r.error->text());
          return;
        }
        run_it = r.truthy();
      }
      if (!*run_it) {
        flowLogger()->trace("{}: skipped (if: is false)", stepWhere(*x->flow, &step, x->run.step));
        ++x->run.step;
        continue;
      }
    }
    flowLogger()->trace("{}: runs", stepWhere(*x->flow, &step, x->run.step));
    {
      std::lock_guard lock(x->step_mutex);
      x->in_step = true;
      x->pending.reset();
    }
    steps::runStep(steps_, x, step, [this, x](StepOutcome o) {
      {
        std::lock_guard lock(x->step_mutex);
        if (x->in_step) {
          x->pending = std::move(o);  // finished synchronously: the loop below goes on
          return;
        }
      }
      if (afterStep(x, std::move(o))) {
        next(x);
      }
    });
    std::optional<StepOutcome> outcome;
    {
      std::lock_guard lock(x->step_mutex);
      x->in_step = false;
      outcome = std::move(x->pending);
      x->pending.reset();
    }
    if (!outcome) {
      return;  // the step goes on asynchronously; its callback continues the run
    }
    if (!afterStep(x, std::move(*outcome))) {
      return;
    }
  }
}

bool FlowEngine::Impl::afterStep(ExecPtr x, StepOutcome o) {
  const flow::Step& step = x->flow->steps[x->run.step];
  x->rule_context.reset();  // the step may have changed what rules see
  if (!o.ok) {
    if (x->step_attempt < step.retry.attempts) {
      int64_t backoff = step.retry.backoff_ms << std::min(x->step_attempt, 20);
      ++x->step_attempt;
      flowLogger()->info("{} failed ({}); trying again in {} ms (retry {} of {})",
                         stepWhere(*x->flow, &step, x->run.step), o.error, backoff, x->step_attempt,
                         step.retry.attempts);
      auto timer = std::make_shared<boost::asio::steady_timer>(services_.io);
      timer->expires_after(std::chrono::milliseconds(backoff));
      timer->async_wait([this, x, timer](const boost::system::error_code&) {
        x->steps_taken = 0;
        next(x);
      });
      return false;
    }
    stepFailed(x, o.error);
    return false;
  }
  x->step_attempt = 0;
  if (!step.id.empty() && o.control != StepOutcome::Control::kJumped) {
    x->run.steps[step.id] = {{"output", o.output}};
  }
  switch (o.control) {
    case StepOutcome::Control::kNext:
      ++x->run.step;
      return true;
    case StepOutcome::Control::kJumped:
      return true;
    case StepOutcome::Control::kStop:
      endRun(x, o.stop_reason.empty() ? "stop" : o.stop_reason);
      return false;
    case StepOutcome::Control::kSuspend:
      suspend(x);
      return false;
  }
  return false;
}

void FlowEngine::Impl::stepFailed(ExecPtr x, const std::string& reported) {
  // The error is kept in the run (steps.<id>.error), which storage holds: an HTTP answer that
  // echoes a token from the step's headers must not be stored with it.
  const std::string error = log::redacted(reported);
  const flow::Step& step = x->flow->steps[x->run.step];
  // An optional question the contact did not answer is not a fault: said once, at info.
  auto log_level = x->not_an_answer ? spdlog::level::info : spdlog::level::warn;
  if (x->not_an_answer) {
    flowLogger()->info(
        "{}: the message is not an answer to this optional question (retries: 0); "
        "it is handled as a new message",
        stepWhere(*x->flow, &step, x->run.step));
  } else {
    runs_failed_->inc();
  }
  x->step_attempt = 0;
  x->run.waiting.clear();
  x->run.token.clear();
  x->rule_context.reset();
  switch (step.on_error.action) {
    case flow::OnErrorAction::kContinue:
      flowLogger()->log(log_level,
                        "{} failed: {}; continuing with the next step (on_error: continue)",
                        stepWhere(*x->flow, &step, x->run.step), error);
      if (!step.id.empty()) {
        x->run.steps[step.id] = {{"output", nullptr}, {"error", error}};
      }
      ++x->run.step;
      next(x);
      return;
    case flow::OnErrorAction::kGoto: {
      flowLogger()->log(log_level, "{} failed: {}; going to step '{}'",
                        stepWhere(*x->flow, &step, x->run.step), error, step.on_error.step);
      if (!step.id.empty()) {
        x->run.steps[step.id] = {{"output", nullptr}, {"error", error}};
      }
      for (size_t i = 0; i < x->flow->steps.size(); ++i) {
        if (x->flow->steps[i].id == step.on_error.step) {
          x->run.step = i;
          next(x);
          return;
        }
      }
      endRun(x, "on_error target missing");
      return;
    }
    case flow::OnErrorAction::kStop:
      flowLogger()->log(log_level, "{} failed: {}; the flow stops (on_error: stop)",
                        stepWhere(*x->flow, &step, x->run.step), error);
      endRun(x, "error");
      return;
  }
}

bool FlowEngine::Impl::returnFromCall(const ExecPtr& x) {
  if (x->run.calls.empty()) {
    return false;
  }
  CallFrame frame = std::move(x->run.calls.back());
  x->run.calls.pop_back();
  const flow::Flow* caller = x->set->find(frame.flow);
  if (caller == nullptr) {
    return false;
  }
  x->rule_context.reset();
  Json called_outputs = std::move(x->run.steps);
  x->flow = caller;
  x->run.flow = frame.flow;
  x->run.step = frame.step;
  x->run.steps = std::move(frame.steps);
  x->run.inputs = std::move(frame.inputs);
  if (!frame.call_step_id.empty()) {
    x->run.steps[frame.call_step_id] = {{"output", std::move(called_outputs)}};
  }
  return true;
}

void FlowEngine::Impl::endRun(ExecPtr x, const std::string& why) {
  flowLogger()->debug("{}: run {} of flow '{}' ended{}", x->entry ? x->entry->key : "-", x->run.id,
                      x->run.flow, why.empty() ? "" : " (" + why + ")");
  if (x->entry != nullptr) {
    // A run queued behind this flow (mode: queued) starts now, in the same turn.
    std::string first_flow = x->run.trigger.value("flow", x->run.flow);
    auto& queued = x->entry->state.queued;
    auto it = std::find_if(queued.begin(), queued.end(),
                           [&](const QueuedRun& q) { return q.flow == first_flow; });
    if (it != queued.end()) {
      QueuedRun q = std::move(*it);
      queued.erase(it);
      x->entry->dirty = true;
      if (const flow::Flow* f = x->set->find(q.flow)) {
        ExecPtr following = newExec(x->set, x->entry, *f, q.id, q.trigger, q.message, x->request_id,
                                    Json::object());
        following->finished = std::move(x->finished);
        runs_started_->inc();
        next(following);
        return;
      }
    }
  }
  finishTurn(x);
}

void FlowEngine::Impl::suspend(ExecPtr x) {
  x->run.updated_at = flowNowMs();
  x->entry->state.runs.push_back(x->run);
  x->entry->dirty = true;
  finishTurn(x);
}

void FlowEngine::Impl::finishTurn(ExecPtr x) {
  auto finished = std::move(x->finished);
  x->finished = nullptr;
  if (!finished) {
    finished = [] {};
  }
  if (x->not_an_answer && x->handle_as_new) {
    auto handle_as_new = std::move(x->handle_as_new);
    x->not_an_answer = false;
    finished = [handle_as_new = std::move(handle_as_new), finished = std::move(finished)] {
      handle_as_new(finished);
    };
  }
  if (x->entry != nullptr && x->entry->dirty) {
    x->entry->dirty = false;
    conversations_.saveState(x->entry, std::move(finished));
    return;
  }
  finished();
}

}  // namespace waflow::core::engine

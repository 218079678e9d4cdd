// Scheduled work of the flow engine (delays, timeouts, follow-ups, schedule and idle
// triggers) and reloading flows. Part of FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "time/civil_time.h"
#include "time/time_zone.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

namespace waflow::core::engine {

// ---- scheduled jobs ------------------------------------------------------------------------

void FlowEngine::Impl::onJob(const bus::Event& event, bus::Done done) {
  auto finished = shareDone(std::move(done));
  auto job = std::static_pointer_cast<const Scheduler::Job>(event.native);
  if (!job) {
    finished();
    return;
  }
  std::string channel = jsonString(job->payload, "channel");
  std::string contact = jsonString(job->payload, "contact");
  if (channel.empty() || contact.empty()) {
    handleJob(*job, nullptr, std::move(finished));
    return;
  }
  conversations_.withEntry(channel, contact, [this, job, finished](EntryPtr entry) mutable {
    handleJob(*job, std::move(entry), std::move(finished));
  });
}

void FlowEngine::Impl::handleJob(Scheduler::Job job, EntryPtr entry, std::function<void()> done) {
  const std::string id = job.id;
  auto complete = [this, id, done = std::move(done)] {
    scheduler_.complete(id);
    done();
  };
  using Handler = void (Impl::*)(const Scheduler::Job&, const EntryPtr&, std::function<void()>);
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"run.resume", &Impl::resumeAfterWait},     {"run.timeout", &Impl::resumeAfterWait},
      {"contact.set", &Impl::saveClassification}, {"flow.followup", &Impl::fireFollowUp},
      {"flow.start", &Impl::startPlannedFlow},    {"flow.idle", &Impl::startIdleFlow},
      {"flow.schedule", &Impl::fireSchedule}};
  auto handler = kHandlers.find(job.kind);
  if (handler == kHandlers.end()) {
    flowLogger()->warn("scheduled job '{}' has an unknown kind '{}'; dropped", job.id, job.kind);
    complete();
    return;
  }
  (this->*handler->second)(job, entry, std::move(complete));
}

bool FlowEngine::Impl::skipsMissed(const Scheduler::Job& job) const {
  return job.missed && !config_.flows.run_missed_jobs;
}

bool FlowEngine::Impl::startIfAllowed(const std::shared_ptr<const FlowSet>& set,
                                      const flow::Flow& f, const EntryPtr& entry,
                                      std::string run_id, Json trigger,
                                      const std::string& request_id,
                                      const std::function<void()>& finished) {
  if (quietForHandoff(f, entry.get())) {
    return false;  // a human has the conversation
  }
  size_t fi = 0;
  set->find(f.id, &fi);
  Json globals = {{"trigger", trigger}};
  return conditionsPass(set, fi, Json::object(), entry.get(), globals) &&
         startRun(set, entry, f, std::move(run_id), std::move(trigger), Json::object(), request_id,
                  std::move(globals), finished);
}

void FlowEngine::Impl::resumeAfterWait(const Scheduler::Job& job, const EntryPtr& entry,
                                       std::function<void()> complete) {
  const Json& p = job.payload;
  // A delay ends, or an ask/wait waited long enough. Missed or not, the run must go on.
  if (entry == nullptr) {
    complete();
    return;
  }
  FlowRun* run = entry->state.findRun(jsonString(p, "run_id"));
  if (run == nullptr || run->token != jsonString(p, "token") ||
      (job.kind == "run.resume" && run->waiting != "delay" && run->waiting != "gather")) {
    complete();  // answered, restarted or ended meanwhile
    return;
  }
  std::string kind = job.kind;
  std::string waited = run->waiting;
  resumeRun(
      entry, run->id, Json::object(), job.id,
      [this, kind, waited](ExecPtr x) {
        if (kind == "run.resume" && waited == "gather") {
          // The contact went quiet: the ai step answers the whole burst.
          x->run.waiting.clear();
          x->run.token.clear();
          x->gathered_done = true;
          if (!x->run.gathered.empty()) {
            x->message = x->run.gathered.back();
          }
          next(x);
          return;
        }
        if (kind == "run.resume") {
          x->run.waiting.clear();
          x->run.token.clear();
          if (afterStep(x, StepOutcome::next())) {
            next(x);
          }
          return;
        }
        const flow::Step& step = x->flow->steps[x->run.step];
        stepFailed(x, waited == "ask"
                          ? fmt::format("no valid answer within the step's timeout "
                                        "({} ms)",
                                        step.timeout_ms.value_or(config_.flows.wait_expiry.count()))
                          : fmt::format("the event did not arrive in time"));
      },
      std::move(complete));
}

void FlowEngine::Impl::saveClassification(const Scheduler::Job& job, const EntryPtr& entry,
                                          std::function<void()> complete) {
  const Json& p = job.payload;
  // A background classification's fields, stored on the contact in conversation order.
  if (entry == nullptr) {
    complete();
    return;
  }
  conversations_.updateContact(
      entry, p.value("values", Json::object()), {}, {},
      [complete = std::move(complete), key = entry->key](bool ok, std::string error) {
        if (!ok) {
          flowLogger()->warn("{}: a classification was not saved to the contact: {}", key, error);
        }
        complete();
      });
}

void FlowEngine::Impl::fireFollowUp(const Scheduler::Job& job, const EntryPtr& entry,
                                    std::function<void()> complete) {
  const Json& p = job.payload;
  auto set = current();
  const bool skip_missed = skipsMissed(job);
  if (skip_missed || entry == nullptr) {
    complete();
    return;
  }
  if (std::string text = jsonString(p, "text"); !text.empty()) {
    delivery::Outbox::Message m;
    m.id = job.id;
    m.channel = entry->channel;
    m.to = entry->contact;
    m.conversation = entry->key;
    m.type = "text";
    m.text = std::move(text);
    m.request_id = job.id;
    services_.outbox.enqueue(std::move(m), [complete = std::move(complete)](bool stored) {
      if (stored) {
        complete();  // else the job fires again once its lease lapses
      }
    });
    return;
  }
  const flow::Flow* f = set->find(jsonString(p, "flow"));
  if (f == nullptr) {
    complete();
    return;
  }
  if (!startIfAllowed(set, *f, entry, job.id, {{"id", ""}, {"on", "schedule"}}, job.id, complete)) {
    complete();
  }
}

void FlowEngine::Impl::startPlannedFlow(const Scheduler::Job& job, const EntryPtr& entry,
                                        std::function<void()> complete) {
  const Json& p = job.payload;
  auto set = current();
  const bool skip_missed = skipsMissed(job);
  const flow::Flow* f = set->find(jsonString(p, "flow"));
  if (f == nullptr || skip_missed) {
    complete();
    return;
  }
  if (!startIfAllowed(set, *f, entry, job.id, p.value("trigger", Json::object()), job.id,
                      complete)) {
    complete();
  }
}

void FlowEngine::Impl::startIdleFlow(const Scheduler::Job& job, const EntryPtr& entry,
                                     std::function<void()> complete) {
  const Json& p = job.payload;
  auto set = current();
  const bool skip_missed = skipsMissed(job);
  const flow::Flow* f = set->find(jsonString(p, "flow"));
  int64_t armed_at = p.value("armed_at", int64_t{0});
  if (f == nullptr || entry == nullptr || skip_missed ||
      entry->contact_json.value("last_inbound_at", int64_t{0}) > armed_at) {
    complete();  // the contact wrote since: not idle
    return;
  }
  // The job's id is reused for every quiet spell: the run (and its outbox ids) is named after
  // this one.
  if (!startIfAllowed(set, *f, entry, fmt::format("{}:{}", job.id, armed_at),
                      {{"id", jsonString(p, "trigger_id")}, {"on", "contact.idle"}}, job.id,
                      complete)) {
    complete();
  }
}

void FlowEngine::Impl::fireSchedule(const Scheduler::Job& job, const EntryPtr& /*none*/,
                                    std::function<void()> complete) {
  const Json& p = job.payload;
  auto set = current();
  const bool skip_missed = skipsMissed(job);
  size_t fi = 0;
  const flow::Flow* f = set->find(jsonString(p, "flow"), &fi);
  size_t ti = p.value("trigger", size_t{0});
  const flow::ScheduleTrigger* t = nullptr;
  if (f != nullptr && ti < f->triggers.size()) {
    t = std::get_if<flow::ScheduleTrigger>(&f->triggers[ti].spec);
  }
  std::string spec = t == nullptr ? "" : (t->cron ? t->cron_text : "at");
  if (t == nullptr || spec != jsonString(p, "spec") || t->tz != jsonString(p, "tz")) {
    complete();  // the trigger changed or is gone; the new one has its own job
    return;
  }
  // Plan the next occurrence first, so a crash now cannot lose the schedule.
  std::vector<Scheduler::Job> following;
  if (auto due = nextFire(*t, std::max(job.due_at, skip_missed ? flowNowMs() : job.due_at))) {
    Scheduler::Job n;
    n.id = fmt::format("schedule:{}:{}:{}", f->id, ti, *due);
    n.kind = "flow.schedule";
    n.due_at = *due;
    n.payload = p;
    following.push_back(std::move(n));
  }
  scheduler_.add(std::move(following), false,
                 [this, set, f, fi, ti, t, job, skip_missed,
                  complete = std::move(complete)](bool stored) mutable {
                   if (!stored) {
                     return;  // fires again when its lease lapses
                   }
                   if (skip_missed) {
                     flowLogger()->info(
                         "flow '{}': the schedule due at {} was missed while "
                         "waflow was stopped; skipped (flows.missed_jobs: skip)",
                         f->id, job.due_at);
                     complete();
                     return;
                   }
                   Json trigger = {{"id", f->triggers[ti].id}, {"on", "schedule"}};
                   if (!t->tag.empty()) {
                     fanOut(set, *f, ti, job.id, t->tag, "", std::move(complete));
                     return;
                   }
                   Json globals = {{"trigger", trigger}};
                   if (!conditionsPass(set, fi, Json::object(), nullptr, globals) ||
                       !startRun(set, nullptr, *f, job.id, trigger, Json::object(), job.id, globals,
                                 complete)) {
                     complete();
                   }
                 });
}

void FlowEngine::Impl::fanOut(const std::shared_ptr<const FlowSet>& set, const flow::Flow& flow,
                              size_t trigger_index, const std::string& job_id,
                              const std::string& tag, std::string after,
                              std::function<void()> done) {
  // One durable job per tagged contact: each runs in its own conversation, once.
  Json in = {{"tag", tag}, {"limit", 500}};
  if (!after.empty()) {
    in["after"] = after;
  }
  std::string flow_id = flow.id;
  Json trigger = {{"id", flow.triggers[trigger_index].id}, {"on", "schedule"}};
  services_.storage.call(
      waflow::storage::kContactList, in,
      [this, set, &flow, trigger_index, job_id, tag, flow_id, trigger, done = std::move(done)](
          const plugin::CallOutcome& o, const Json& out) mutable {
        if (!o.ok()) {
          flowLogger()->error("contact.list for flow '{}' failed: {}", flow_id, o.error);
          return;  // the schedule job fires again when its lease lapses
        }
        std::vector<Scheduler::Job> jobs;
        for (const auto& c : out.value("contacts", Json::array())) {
          Scheduler::Job j;
          j.id =
              fmt::format("{}:{}:{}", job_id, jsonString(c, "channel"), jsonString(c, "contact"));
          j.kind = "flow.start";
          j.due_at = flowNowMs();
          j.conversation =
              delivery::conversationKey(jsonString(c, "channel"), jsonString(c, "contact"));
          j.payload = {{"flow", flow_id},
                       {"trigger", trigger},
                       {"channel", jsonString(c, "channel")},
                       {"contact", jsonString(c, "contact")}};
          jobs.push_back(std::move(j));
        }
        Json next_cursor = out.value("next", Json());
        scheduler_.add(std::move(jobs), false,
                       [this, set, &flow, trigger_index, job_id, tag, next_cursor,
                        done = std::move(done)](bool stored) mutable {
                         if (!stored) {
                           return;
                         }
                         if (next_cursor.is_string()) {
                           fanOut(set, flow, trigger_index, job_id, tag,
                                  next_cursor.get<std::string>(), std::move(done));
                           return;
                         }
                         done();
                       });
      });
}

std::optional<int64_t> FlowEngine::Impl::nextFire(const flow::ScheduleTrigger& t,
                                                  int64_t after_ms) const {
  std::string error;
  const time::TimeZone* zone = time::TimeZone::locate(t.tz.empty() ? "UTC" : t.tz, &error);
  if (zone == nullptr) {
    return std::nullopt;
  }
  if (t.cron) {
    auto offset = [zone](int64_t unix_seconds) { return zone->utcOffset(unix_seconds); };
    if (auto s = t.cron->nextFireUtc(after_ms / 1000, offset)) {
      return *s * 1000;
    }
    return std::nullopt;
  }
  if (t.at) {
    int64_t local = time::secondsFromCivil(*t.at);
    int64_t utc = local - zone->utcOffset(local);
    utc = local - zone->utcOffset(utc);
    if (utc * 1000 > after_ms) {
      return utc * 1000;
    }
  }
  return std::nullopt;
}

void FlowEngine::Impl::registerSchedules(const std::shared_ptr<const FlowSet>& set) {
  std::vector<Scheduler::Job> jobs;
  int64_t now = flowNowMs();
  for (const auto& f : set->flows) {
    for (size_t ti = 0; ti < f.triggers.size(); ++ti) {
      const auto* t = std::get_if<flow::ScheduleTrigger>(&f.triggers[ti].spec);
      if (t == nullptr) {
        continue;
      }
      auto due = nextFire(*t, now);
      if (!due) {
        continue;
      }
      Scheduler::Job j;
      j.id = fmt::format("schedule:{}:{}:{}", f.id, ti, *due);
      j.kind = "flow.schedule";
      j.due_at = *due;
      j.payload = {
          {"flow", f.id}, {"trigger", ti}, {"spec", t->cron ? t->cron_text : "at"}, {"tz", t->tz}};
      jobs.push_back(std::move(j));
    }
  }
  scheduler_.add(std::move(jobs), false, [](bool stored) {
    if (!stored) {
      flowLogger()->error(
          "the schedule triggers could not be stored; they are retried at the next "
          "reload or start");
    }
  });
}

// ---- reload --------------------------------------------------------------------------------

void FlowEngine::Impl::watch() {
  if (stopped_.load() || !config_.flows.watch) {
    return;
  }
  watch_timer_.expires_after(config_.flows.watch_interval);
  watch_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped_.load()) {
      return;
    }
    auto fingerprint = rulesFingerprint(self->config_);
    bool changed;
    {
      std::lock_guard lock(self->reload_mutex_);
      changed = fingerprint != self->fingerprint_;
    }
    if (changed) {
      // Compiling a few files takes milliseconds: the I/O thread can afford it, and its
      // threads are joined at shutdown, unlike a thread of its own.
      self->reloadNow("files changed");
    }
    self->watch();
  });
}

FlowEngine::ReloadResult FlowEngine::Impl::reloadNow(const std::string& reason) {
  std::lock_guard lock(reload_mutex_);
  fingerprint_ = rulesFingerprint(config_);
  ReloadResult result;
  auto old = current();
  uint64_t version = (old ? old->version : 0) + 1;
  FlowSetLoad loaded = loadFlowSet(config_, version);
  result.diagnostics = loaded.diagnostics;
  for (const auto& secret : loaded.secrets) {
    log::addSecret(secret);  // before the errors are logged: they may quote one
  }
  if (!loaded.set) {
    size_t errors = 0;
    for (const auto& d : loaded.diagnostics) {
      if (d.severity == diag::Severity::kError) {
        ++errors;
        flowLogger()->error("{}:{}:{}: {}", d.file, d.line, d.column, d.text());
      }
    }
    flowLogger()->error(
        "flows not reloaded ({}): {} error(s) above; version {} keeps running. Fix the files "
        "and save again, or run `waflow validate` to see the problems",
        reason, errors, old ? old->version : 0);
    result.version = old ? old->version : 0;
    result.flows = old ? old->flows.size() : 0;
    return result;
  }
  {
    std::lock_guard set_lock(set_mutex_);
    set_ = loaded.set;
  }
  flowLogger()->info("flows reloaded ({}): version {}, {} flow(s), {} script(s)", reason, version,
                     loaded.set->flows.size(), loaded.set->scripts.size());
  registerSchedules(loaded.set);
  syncEventSubscriptions(*loaded.set);
  result.ok = true;
  result.version = version;
  result.flows = loaded.set->flows.size();
  return result;
}

}  // namespace waflow::core::engine

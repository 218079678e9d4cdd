#include "engine/scheduler.h"

#include "log/log.h"
#include "storage/storage_client.h"

#include <boost/asio/post.hpp>

#include <future>
#include <memory>

#include <algorithm>
#include <atomic>
#include <chrono>

namespace waflow::core::engine {
namespace {

using nlohmann::json;

constexpr int kClaimLimit = 200;
// Longer than any flow step may hold a job (an http step's timeout, an AI call): a job whose
// handler is still working is not fired a second time.
constexpr int64_t kLeaseMs = 10 * 60 * 1000;
// Storage is the record; the scheduler also looks at it this often in case a job was added
// by another process or its wake-up was missed.
constexpr int64_t kMaxSleepMs = 60 * 1000;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json jobToJson(const Scheduler::Job& job) {
  return {{"id", job.id},
          {"kind", job.kind},
          {"due_at", job.due_at},
          {"payload", job.payload},
          {"conversation", job.conversation},
          {"cancel_on_reply", job.cancel_on_reply}};
}

}  // namespace

struct Scheduler::State {
  Handler handler;
  int64_t started_at = 0;
  int64_t wake_at = INT64_MAX;  // when the timer fires next
  bool started = false;
  bool stopped = false;
  bool claiming = false;
  bool again = false;  // poll again once the claim in flight returns
  std::atomic<uint64_t> fired{0};
};

Scheduler::Scheduler(storage::StorageClient& storage, boost::asio::io_context& io,
                     std::string owner)
    : storage_(storage),
      strand_(boost::asio::make_strand(io)),
      timer_(strand_),
      owner_(std::move(owner)),
      done_batch_(storage, waflow::storage::kJobDone, "ids", 500),
      state_(std::make_shared<State>()) {}

Scheduler::~Scheduler() = default;

uint64_t Scheduler::fired() const {
  return state_->fired.load();
}

void Scheduler::start(Handler handler) {
  boost::asio::post(strand_, [this, handler = std::move(handler)]() mutable {
    state_->handler = std::move(handler);
    state_->started_at = nowMs();
    storage_.call(
        waflow::storage::kJobRecover, {{"owner", owner_}},
        [this](const plugin::CallOutcome& o, const json& out) {
          if (!o.ok()) {
            log::get("scheduler")->error("job.recover failed: {}", o.error);
          } else if (int n = out.value("recovered", 0); n > 0) {
            log::get("scheduler")
                ->info("{} scheduled job(s) were running at the last stop; running them again", n);
          }
          boost::asio::post(strand_, [this] {
            state_->started = true;
            poll();
          });
        });
  });
}

void Scheduler::poll() {
  if (state_->stopped || !state_->started) {
    return;
  }
  if (state_->claiming) {
    state_->again = true;
    return;
  }
  state_->claiming = true;
  state_->again = false;
  claim();
}

void Scheduler::claim() {
  json in = {{"owner", owner_}, {"lease_ms", kLeaseMs}, {"now", nowMs()}, {"limit", kClaimLimit}};
  storage_.call(waflow::storage::kJobClaim, in, [this](const plugin::CallOutcome& o, json out) {
    boost::asio::post(strand_, [this, ok = o.ok(), error = o.error, out = std::move(out)] {
      state_->claiming = false;
      if (state_->stopped) {
        return;
      }
      if (!ok) {
        log::get("scheduler")->error("job.claim failed: {}; trying again in 5 s", error);
        sleepUntil(nowMs() + 5000);
        return;
      }
      const json& jobs = out.contains("jobs") ? out["jobs"] : json::array();
      for (const auto& j : jobs) {
        Job job;
        job.id = j.value("id", "");
        job.kind = j.value("kind", "");
        job.due_at = j.value("due_at", int64_t{0});
        job.payload = j.value("payload", json::object());
        job.conversation = j.value("conversation", "");
        job.attempts = j.value("attempts", 0);
        job.missed = job.due_at < state_->started_at;
        state_->fired.fetch_add(1, std::memory_order_relaxed);
        state_->handler(std::move(job));
      }
      if (jobs.size() >= static_cast<size_t>(kClaimLimit) || state_->again) {
        poll();
        return;
      }
      storage_.call(
          waflow::storage::kJobNext, json::object(),
          [this](const plugin::CallOutcome& answer, const json& next) {
            int64_t due = nowMs() + (answer.ok() ? kMaxSleepMs : 5000);
            if (answer.ok() && next.contains("due_at") && next["due_at"].is_number_integer()) {
              due = std::min(due, next["due_at"].get<int64_t>());
            }
            boost::asio::post(strand_, [this, due] { sleepUntil(due); });
          });
    });
  });
}

void Scheduler::sleepUntil(int64_t due_at) {
  if (state_->stopped) {
    return;
  }
  int64_t now = nowMs();
  due_at = std::min(due_at, now + kMaxSleepMs);
  state_->wake_at = due_at;
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, due_at - now)));
  timer_.async_wait([this, state = state_](const boost::system::error_code& ec) {
    if (ec || state->stopped) {
      return;
    }
    if (state->wake_at <= nowMs()) {
      state->wake_at = INT64_MAX;
      poll();
    }
  });
}

void Scheduler::add(std::vector<Job> jobs, bool replace, std::function<void(bool stored)> done) {
  if (jobs.empty()) {
    done(true);
    return;
  }
  int64_t earliest = INT64_MAX;
  json list = json::array();
  for (const auto& job : jobs) {
    earliest = std::min(earliest, job.due_at);
    list.push_back(jobToJson(job));
  }
  json in = {{"jobs", std::move(list)}, {"replace", replace}};
  storage_.call(
      waflow::storage::kJobAdd, in,
      [this, earliest, done = std::move(done)](const plugin::CallOutcome& o, const json&) {
        if (!o.ok()) {
          log::get("scheduler")->error("job.add failed: {}", o.error);
          done(false);
          return;
        }
        boost::asio::post(strand_, [this, earliest] {
          if (state_->started && earliest < state_->wake_at) {
            sleepUntil(earliest);
          }
        });
        done(true);
      });
}

void Scheduler::cancelOnReply(const std::string& conversation, std::function<void(bool)> done) {
  json in = {{"conversation", conversation}, {"only_cancel_on_reply", true}};
  storage_.call(waflow::storage::kJobCancel, in,
                [done = std::move(done)](const plugin::CallOutcome& o, const json&) {
                  if (!o.ok()) {
                    log::get("scheduler")->error("job.cancel failed: {}", o.error);
                  }
                  done(o.ok());
                });
}

void Scheduler::cancel(std::vector<std::string> ids, std::function<void(bool)> done) {
  if (ids.empty()) {
    done(true);
    return;
  }
  storage_.call(waflow::storage::kJobCancel, {{"ids", ids}},
                [done = std::move(done)](const plugin::CallOutcome& o, const json&) {
                  if (!o.ok()) {
                    log::get("scheduler")->error("job.cancel failed: {}", o.error);
                  }
                  done(o.ok());
                });
}

void Scheduler::complete(const std::string& id) {
  std::string item;
  item.reserve(id.size() + 2);
  item = json(id).dump();
  done_batch_.submit(std::move(item), [id](const plugin::CallOutcome& o, const json*, size_t) {
    if (!o.ok()) {
      log::get("scheduler")->warn("job.done for '{}' failed: {}; it may fire again", id, o.error);
    }
  });
}

void Scheduler::stop() {
  // Shared with the callback: it may run after the wait below has given up.
  auto stopped = std::make_shared<std::promise<void>>();
  auto future = stopped->get_future();
  boost::asio::post(strand_, [this, stopped] {
    state_->stopped = true;
    timer_.cancel();
    stopped->set_value();
  });
  future.wait_for(std::chrono::seconds(5));
  done_batch_.waitIdle(std::chrono::seconds(5));
}

}  // namespace waflow::core::engine

// Scheduler — durable timed jobs for the flow engine: follow-ups, delays, ask and wait
// timeouts, schedule and idle triggers. Jobs live in storage (job.add / job.claim / job.done),
// so they survive restarts and fire once. A due job is claimed under a lease and handed to the
// handler; the handler calls complete() when its work is durable, which deletes the job. If
// the daemon stops first, the job fires again after the next start (job.recover hands back
// this owner's leases); the engine derives every send from the job's id, so a second firing
// never sends twice.
//
// The scheduler sleeps until the earliest pending job (job.next), and wakes sooner when a job
// due earlier is added. Jobs that fell due before start() are marked `missed` for the handler
// to run or skip (flows.missed_jobs).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include "storage/storage_batch.h"
#include "storage/storage_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace waflow::core::engine {

class Scheduler {
 public:
  struct Job {
    std::string id;  // unique; adding an existing id does nothing (unless replacing)
    std::string kind;
    int64_t due_at = 0;  // Unix ms
    nlohmann::json payload = nlohmann::json::object();
    std::string conversation;      // "<channel>:<contact>", "" for none
    bool cancel_on_reply = false;  // cancelled by cancelOnReply(conversation)
    int attempts = 0;              // times claimed, this one included
    bool missed = false;           // was due before the scheduler started
  };
  using Handler = std::function<void(Job job)>;

  Scheduler(storage::StorageClient& storage, boost::asio::io_context& io, std::string owner);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Takes back this owner's leases from before a restart and starts firing due jobs.
  void start(Handler handler);

  // Stores jobs; `done(true)` once durable. With `replace`, an existing job that is not
  // running takes the new due time and payload.
  void add(std::vector<Job> jobs, bool replace, std::function<void(bool stored)> done);
  // Deletes pending jobs that were added with cancel_on_reply for this conversation.
  void cancelOnReply(const std::string& conversation, std::function<void(bool ok)> done);
  // Deletes pending jobs by id.
  void cancel(std::vector<std::string> ids, std::function<void(bool ok)> done);
  // The handler finished the job: it is deleted (batched with others). A job never completed
  // (storage failed while handling it) fires again when its lease runs out.
  void complete(const std::string& id);

  // Stops firing and waits for the completions to be written. Call while the io_context runs.
  void stop();

  uint64_t fired() const;

 private:
  struct State;
  void poll();
  void claim();
  void sleepUntil(int64_t due_at);

  storage::StorageClient& storage_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  std::string owner_;
  storage::StorageBatch done_batch_;
  std::shared_ptr<State> state_;
};

}  // namespace waflow::core::engine

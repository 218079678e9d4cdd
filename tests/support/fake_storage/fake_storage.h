// FakeStorage — a StorageClient for unit tests of the delivery, engine and admin parts without
// SQLite. An operation answers what the test set for it (answer(), on(), fail()); one the test
// did not set answers Rc::kUnsupported, so a test sees at once which calls it did not expect.
//
// Every call is recorded, and every input is checked against its operation's row in the
// protocol's table (kOperations' `input` in <waflow/sdk/storage.hpp>): an input that is not a
// JSON object, lacks a required field, holds a field the row does not name, or holds a
// non-array where the row says "x[]" is answered Rc::kInvalid and listed in shapeErrors(). A
// test that ends with shapeErrors() empty has shown that the part speaks the documented
// protocol, not only that it works against this fake.
//
// Answers arrive on the fake's own completion thread, in call order, as a plugin's do; hold()
// keeps them back until release(), to test what a part does while a call is in flight.
//
// Thread-safety: every method may be called from any thread. Handlers run on the completion
// thread, one at a time.
#pragma once

#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace waflow::testing {

// What one operation answers.
struct FakeAnswer {
  waflow::Rc rc = waflow::Rc::kOk;
  nlohmann::json output = nlohmann::json::object();
  std::string error;

  static FakeAnswer ok(nlohmann::json output) { return {waflow::Rc::kOk, std::move(output), {}}; }
  static FakeAnswer failure(waflow::Rc rc, std::string error) {
    return {rc, nullptr, std::move(error)};
  }
};

// Checks `input` against the shape `row.input` of the protocol's table; "" when it fits,
// otherwise what is wrong.
std::string checkInputShape(const waflow::storage::OperationInfo& row, const nlohmann::json& input);

class FakeStorage final : public core::storage::StorageClient {
 public:
  using Operation = core::storage::Operation;
  using Handler = std::function<FakeAnswer(const nlohmann::json& input)>;

  FakeStorage();
  ~FakeStorage() override;  // answers what is still queued, then joins the thread
  FakeStorage(const FakeStorage&) = delete;
  FakeStorage& operator=(const FakeStorage&) = delete;

  // `operation` answers by calling `handler` with the parsed input.
  void on(Operation operation, Handler handler);
  // `operation` always answers `output`.
  void answer(Operation operation, nlohmann::json output);
  // `operation` answers `rc` with `error`.
  void fail(Operation operation, waflow::Rc rc, std::string error);

  // Answers wait until release(): the calls stay in flight.
  void hold();
  void release();

  // The inputs `operation` was called with, in order.
  std::vector<nlohmann::json> calls(Operation operation) const;
  // Waits until `operation` has been called at least `count` times.
  bool waitForCalls(Operation operation, size_t count, std::chrono::milliseconds timeout) const;
  // Inputs that did not fit their operation's shape: "<operation>: <what is wrong>".
  std::vector<std::string> shapeErrors() const;

  const std::string& id() const override { return id_; }
  void execute(Operation operation, std::string input_json, RawDone done) override;

 private:
  struct Queued {
    Operation operation;
    nlohmann::json input;
    std::string shape_error;
    RawDone done;
  };
  void run();
  core::storage::Outcome answerFor(const Queued& call);

  const std::string id_ = "fake-storage";
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, std::vector<nlohmann::json>> calls_;
  std::vector<std::string> shape_errors_;
  std::deque<Queued> queue_;
  bool held_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace waflow::testing

// StorageClient — the host's typed door to the storage plugin. Every call names an operation
// of the protocol's table (kOperations in <waflow/sdk/storage.hpp>) through `Operation`, which
// can only be made, at compile time, from a name that table holds: a misspelt or retired
// operation does not compile, and each call site carries the operation's row (whether it
// writes, its group, its input and output shape).
//
// PluginStorage is the real door, a loaded storage plugin. Tests put a fake in its place
// (tests/support/fake_storage) to run the delivery, engine and admin parts without SQLite; the
// fake checks every input against the table's shape.
//
// Thread-safety: implementations are thread-safe. `done` runs on the storage's completion
// thread; PluginStorage never runs it inside execute().
#pragma once

#include "plugin/plugin_instance.h"

#include <waflow/sdk/storage.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace waflow::core::storage {

using Outcome = plugin::CallOutcome;

// One row of the protocol's operation table, chosen by name at compile time.
class Operation {
 public:
  // Implicit, so call sites read `storage.call(waflow::storage::kJobClaim, ...)`; consteval,
  // so a name the table lacks is a compile error ("not a storage operation").
  consteval Operation(const char* name) : info_(find(name)) {}  // NOLINT(runtime/explicit)

  constexpr const char* name() const { return info_->name; }
  constexpr bool writes() const { return info_->writes; }
  constexpr waflow::storage::Group group() const { return info_->group; }
  constexpr const waflow::storage::OperationInfo& info() const { return *info_; }

  friend bool operator==(const Operation& a, const Operation& b) { return a.info_ == b.info_; }

 private:
  static consteval const waflow::storage::OperationInfo* find(const char* name) {
    for (const auto& row : waflow::storage::kOperations) {
      if (std::string_view(row.name) == std::string_view(name)) {
        return &row;
      }
    }
    throw "not a storage operation: add it to kOperations in <waflow/sdk/storage.hpp> first";
  }

  const waflow::storage::OperationInfo* info_;
};

class StorageClient {
 public:
  using RawDone = std::function<void(Outcome)>;
  // `output` is the parsed answer; null when the call failed or the answer was not JSON
  // (the outcome then says why).
  using JsonDone = std::function<void(const Outcome& outcome, nlohmann::json output)>;

  virtual ~StorageClient() = default;

  // The storage's instance id, for messages ("storage").
  virtual const std::string& id() const = 0;

  // One operation with its input already serialised; `done` gets the raw answer.
  virtual void execute(Operation operation, std::string input_json, RawDone done) = 0;

  // One operation with JSON in and out.
  void call(Operation operation, const nlohmann::json& input, JsonDone done);
};

// The storage plugin loaded by the daemon.
class PluginStorage final : public StorageClient {
 public:
  explicit PluginStorage(plugin::PluginInstance& instance) : instance_(instance) {}

  const std::string& id() const override { return instance_.id(); }
  void execute(Operation operation, std::string input_json, RawDone done) override;

 private:
  plugin::PluginInstance& instance_;
};

}  // namespace waflow::core::storage

// The storage operations of <waflow/sdk/storage.hpp> as SQL on one SQLite
// connection: for each, an input validator and the code that runs it; whether it
// writes comes from the protocol's table.
//
// validate() runs on the caller's thread before anything is queued, so a
// malformed operation never enters a write batch; it throws
// waflow::Error(Rc::kInvalid) naming the field. run() executes on a worker's
// connection inside the transaction the worker opened (a SAVEPOINT of the
// writer's group commit, or a read transaction) and writes the output JSON
// text into `out` (the operations on the hot path write it directly, without
// a DOM); it throws waflow::Error or SqliteError, leaving `out` unspecified.
//
// Thread-safety: the table is immutable; run() uses only the Db it is given.
#pragma once

#include "sqlite_db.h"

#include <waflow/sdk/storage.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace waflow::storage_sqlite {

using Json = nlohmann::json;

struct Operation {
  using Validate = void (*)(const Json& input);
  using Run = void (*)(Db& db, const Json& input, std::string& out);

  Operation(std::string_view operation, Validate check, Run body)
      : name(operation), writes(writesPerProtocol(operation)), validate(check), run(body) {}

  std::string_view name;
  bool writes;  // the protocol's table says (<waflow/sdk/storage.hpp>): one list, not two
  Validate validate;
  Run run;

 private:
  // An operation the table lacks is treated as a write: serialised with the others.
  static bool writesPerProtocol(std::string_view operation) {
    const waflow::storage::OperationInfo* info = waflow::storage::findOperationInfo(operation);
    return info == nullptr || info->writes;
  }
};

// nullptr when `name` is not an operation of the storage protocol.
const Operation* findOperation(std::string_view name);

// What storage.describe answers: the protocol version of the SDK this plugin is built with,
// and every operation of the protocol's table it answers (those with an entry here, and the
// two answered without the database: stats and storage.describe).
Json describe();

// Wall-clock Unix milliseconds, for bookkeeping columns (stored_at, ...).
int64_t nowMs();

}  // namespace waflow::storage_sqlite

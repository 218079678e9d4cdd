// The storage operations of <waflow/sdk/storage.hpp> as SQL on one SQLite
// connection: for each, whether it writes, an input validator and the code
// that runs it.
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

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace waflow::storage_sqlite {

using Json = nlohmann::json;

struct Operation {
  std::string_view name;
  bool writes;
  void (*validate)(const Json& input);
  void (*run)(Db& db, const Json& input, std::string& out);
};

// nullptr when `name` is not an operation of the storage protocol.
const Operation* findOperation(std::string_view name);

// Wall-clock Unix milliseconds, for bookkeeping columns (stored_at, ...).
int64_t nowMs();

}  // namespace waflow::storage_sqlite

// The audit log's storage operations (audit.append, audit.list of <waflow/sdk/storage.hpp>)
// as SQL, in the form of the operations of operations.h.
//
// Thread-safety: the table is immutable; run() uses only the Db it is given.
#pragma once

#include "operations.h"

#include <span>

namespace waflow::storage_sqlite {

// The operations of this file; findOperation() looks them up too.
std::span<const Operation> auditOperations();

}  // namespace waflow::storage_sqlite

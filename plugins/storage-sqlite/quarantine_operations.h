// The poison-message operations of <waflow/sdk/storage.hpp> (inbox.attempt, inbox.quarantined,
// inbox.release) as SQL over the inbox table's attempts and quarantine columns (schema
// version 5), in the form of the operations of operations.h.
//
// Thread-safety: the table is immutable; run() uses only the Db it is given.
#pragma once

#include "operations.h"

#include <span>

namespace waflow::storage_sqlite {

// The operations of this file; findOperation() looks them up too.
std::span<const Operation> quarantineOperations();

}  // namespace waflow::storage_sqlite

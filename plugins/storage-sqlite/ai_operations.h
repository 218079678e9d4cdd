// The storage operations AI steps use (conversation memory from the inbox and
// outbox, insights, token usage and cost) as SQL, in the form of the
// operations of operations.h: for each, whether it writes, its input
// validator and the code that runs it.
//
// Thread-safety: the table is immutable; run() uses only the Db it is given.
#pragma once

#include "operations.h"

#include <span>

namespace waflow::storage_sqlite {

// The operations of this file; findOperation() looks them up too.
std::span<const Operation> aiOperations();

}  // namespace waflow::storage_sqlite

// The knowledge-base operations of <waflow/sdk/storage.hpp> (kb.documents, kb.put, kb.delete,
// kb.search, kb.vectors) as SQL over kb_documents, kb_chunks and the FTS5 index kb_fts of
// schema version 4, in the form of the operations of operations.h.
//
// Thread-safety: the table is immutable; run() uses only the Db it is given.
#pragma once

#include "operations.h"

#include <span>

namespace waflow::storage_sqlite {

// The operations of this file; findOperation() looks them up too.
std::span<const Operation> knowledgeOperations();

}  // namespace waflow::storage_sqlite

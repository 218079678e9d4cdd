// The storage-sqlite backend of the conformance suite: a fresh database file
// per test, and the hooks that reach the file directly with the SQLite C API.
//
// Thread-safety: the hooks open their own connections; call them from one thread.
#pragma once

#include "storage_harness.h"

namespace waflow::test::storage {

Backend sqliteBackend();

}  // namespace waflow::test::storage

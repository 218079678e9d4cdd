// The storage-sqlite schema as a list of versioned migrations, and the
// function that brings a database up to date at start.
//
// The version lives in PRAGMA user_version. Migration N takes a database from
// version N-1 to N inside one transaction, so a crash mid-migration leaves the
// previous version intact. A database written by a newer storage-sqlite (a
// higher version than this build knows) is refused rather than guessed at.
//
// Thread-safety: migrate() uses the connection it is given; call it before the
// connection is shared.
#pragma once

#include "sqlite_db.h"

#include <cstdint>

namespace waflow::storage_sqlite {

// The schema version this build writes: the number of migrations.
int64_t currentSchemaVersion();

// Applies the missing migrations. Returns the version found before migrating
// (0 for a new file). Throws waflow::Error when the database is newer than
// this build, SqliteError when a migration fails.
int64_t migrate(Db& db);

}  // namespace waflow::storage_sqlite

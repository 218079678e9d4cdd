// The check every text file an operator writes goes through before it is parsed (waflow.yaml,
// flow files): it must be UTF-8. A file saved by an editor set to Windows-1252 or Latin-1 holds
// letters such as "é" as single bytes that are not UTF-8; left in, they would reach JSON
// serialization deep inside validation and messages, where they cannot be shown.
//
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "diag/diagnostic.h"

namespace waflow::core::diag {

// An error at the line and column (in bytes) of the first byte of `text` that is not UTF-8,
// naming the byte and saying how to fix the file; nullopt when all of `text` is UTF-8.
std::optional<Diagnostic> checkUtf8(std::string_view text, const std::string& file,
                                    const std::string& kind);

}  // namespace waflow::core::diag

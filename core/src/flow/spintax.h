// Spintax in flow texts (docs/flows.md#templates): `{Halo|Hai|Selamat datang}` becomes one of
// its choices, so repeated messages do not look identical. Choices may nest
// (`{Halo|{Hai|Hey} kak}`) and may be empty (`{Halo |}`). Braces without a `|` at their own
// level (`{"a": 1}`, `{promo}`), braces that are not closed, and `{{ ... }}` (template
// expressions, normally already replaced) are kept as they are.
//
// Thread-safety: pure functions. The overload without `pick` uses a random generator of the
// calling thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace waflow::core::flow {

// Renders `text`, calling pick(n) for each group met (outermost first, then inside the chosen
// choice) to choose one of its n choices; pick returns an index in [0, n), larger values are
// taken as n - 1.
std::string renderSpintax(std::string_view text, const std::function<size_t(size_t)>& pick);

// The same with uniformly random choices.
std::string renderSpintax(std::string_view text);

}  // namespace waflow::core::flow

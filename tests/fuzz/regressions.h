// The inputs a fuzz target once crashed on, kept under tests/fuzz/<area>/regressions/ and
// replayed by a unit test of the code they crashed, so each finding stays fixed. (Each fuzz run
// also tries them first: they are seeds of their target, tests/fuzz/CMakeLists.txt.)
//
// Thread-safety: a function of the files it reads.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace waflow::test {

struct FuzzRegression {
  std::filesystem::path path;
  std::string bytes;
};

// Every file of <source_dir>/tests/fuzz/<area>/regressions/, in name order.
inline std::vector<FuzzRegression> fuzzRegressions(const std::filesystem::path& source_dir,
                                                   const std::string& area) {
  std::vector<FuzzRegression> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(source_dir / "tests/fuzz" / area / "regressions")) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.push_back({entry.path(), std::string((std::istreambuf_iterator<char>(in)),
                                             std::istreambuf_iterator<char>())});
  }
  std::sort(out.begin(), out.end(),
            [](const FuzzRegression& a, const FuzzRegression& b) { return a.path < b.path; });
  return out;
}

}  // namespace waflow::test

// Helpers shared by the inbound tests: fixture loading and Meta-shaped ids.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace waflow::cloudapi::testing {

inline std::string readFixture(const std::string& name) {
  std::string path = std::string(CLOUDAPI_FIXTURES) + "/" + name + ".json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open fixture " + path);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The wamid format the fixtures use (see fixtures/*.json).
inline std::string wamid(std::string_view tag) {
  return "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFj" + std::string(tag) + "AA==";
}

}  // namespace waflow::cloudapi::testing

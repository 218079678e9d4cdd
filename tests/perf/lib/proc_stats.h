// What the C++ benchmarks read from /proc about the process under test and the machine: the
// C++ side of proc_stats.sh, shared by waflow-bench-ai and waflow-bench-soak.
//
// Every function reads the file afresh and returns 0 or "" when it cannot (the process exited).
// Thread-safety: pure functions of the file system, callable from any thread.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace waflow::perf {

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A number field of /proc/<pid>/status: VmRSS, VmHWM (KiB), Threads, ... (0 when absent).
inline int64_t statusField(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// utime+stime of a process in microseconds (fields 14 and 15 of /proc/<pid>/stat).
inline int64_t cpuMicros(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  int64_t utime = 0;
  int64_t stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) {
      utime = std::stoll(field);
    } else if (i == 15) {
      stime = std::stoll(field);
    }
  }
  return (utime + stime) * 1000000 / sysconf(_SC_CLK_TCK);
}

// The first three fields of /proc/loadavg: other work on the machine skews every figure.
inline std::string loadAverage() {
  std::istringstream in(readFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Raises this process's open-file limit to its hard limit (the daemon it starts inherits it), and
// warns when that is still below `needed`; `lower` says which option needs fewer.
inline void raiseFileLimit(std::size_t needed, const char* lower) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < needed) {
    std::fprintf(stderr,
                 "warning: open-file limit %llu is below the ~%zu this run needs (the daemon "
                 "inherits it); lower %s or raise `ulimit -Hn`\n",
                 static_cast<unsigned long long>(lim.rlim_cur), needed, lower);
  }
}

}  // namespace waflow::perf

// DaemonProcess — runs the real `waflow` binary as a child process for
// end-to-end tests: its own temp directory (as working directory and
// data_dir), a config written there, stderr captured to a file, and the port
// read from its startup line (it listens on 127.0.0.1:0).
//
// Also: a blocking HTTP helper on libcurl, and a helper that runs a command
// with stdin and captures its output.
//
// Thread-safety: one test thread per object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace waflow::test {

std::filesystem::path buildDir();
std::filesystem::path waflowBinary();

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
};

HttpResult http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::vector<std::string>& headers = {}, long timeout_ms = 15000);

// A Cloud API webhook body with one text message.
std::string textWebhook(const std::string& from, const std::string& id, const std::string& text,
                        const std::string& name = "Tester");

class DaemonProcess {
 public:
  // `config_yaml` empty: no config file (the embedded default).
  explicit DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_args = {},
                         std::map<std::string, std::string> env = {});
  ~DaemonProcess();

  // Starts and waits for the startup line; false (with log()) when it exited.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  // SIGTERM and wait; returns the exit code (or 128+signal).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(40));
  // kill -9: no chance to clean up, as in a crash or an OOM kill.
  void kill9();
  // Waits for the process to exit by itself; returns the exit code.
  int waitExit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string log() const;
  const std::filesystem::path& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path dir_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int exit_code_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `args` (args[0] is the program) in `cwd` with `input` on stdin.
CommandResult runCommand(const std::vector<std::string>& args, const std::string& input = "",
                         const std::filesystem::path& cwd = ".",
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs `waflow validate` on `yaml`, written as waflow.yaml in a fresh temporary directory (the
// command's working directory).
CommandResult validateYaml(const std::string& yaml);

}  // namespace waflow::test

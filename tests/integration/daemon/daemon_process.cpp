#include "daemon_process.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace waflow::test {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) {
      value.erase(0, 1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
      value.pop_back();
    }
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// waitpid with a deadline; kills the child when it passes.
int waitWithTimeout(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return decodeStatus(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -2;  // timed out
}

}  // namespace

std::filesystem::path buildDir() {
  const char* dir = std::getenv("WAFLOW_BUILD_DIR");
  if (dir == nullptr) {
    throw std::runtime_error("WAFLOW_BUILD_DIR is not set (run the tests through ctest)");
  }
  return dir;
}

std::filesystem::path waflowBinary() {
  return buildDir() / "bin" / "waflow";
}

HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, long timeout_ms) {
  HttpResult r;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) {
    list = curl_slist_append(list, h.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
}

std::string textWebhook(const std::string& from, const std::string& id, const std::string& text,
                        const std::string& name) {
  nlohmann::json body = {
      {"object", "whatsapp_business_account"},
      {"entry",
       {{{"id", "WABA"},
         {"changes",
          {{{"field", "messages"},
            {"value",
             {{"messaging_product", "whatsapp"},
              {"metadata", {{"display_phone_number", "15550001234"}, {"phone_number_id", "PN"}}},
              {"contacts", {{{"profile", {{"name", name}}}, {"wa_id", from}}}},
              {"messages",
               {{{"from", from},
                 {"id", id},
                 {"timestamp", "1750000000"},
                 {"type", "text"},
                 {"text", {{"body", text}}}}}}}}}}}}}}};
  return body.dump();
}

DaemonProcess::DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_args,
                             std::map<std::string, std::string> env)
    : env_(std::move(env)) {
  static int counter = 0;
  dir_ = std::filesystem::temp_directory_path() /
         ("waflow-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  args_ = {waflowBinary().string(), "run", "--listen", "127.0.0.1:0"};
  if (!config_yaml.empty()) {
    std::ofstream(dir_ / "waflow.yaml") << config_yaml;
    args_.push_back("-c");
    args_.push_back((dir_ / "waflow.yaml").string());
  }
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool DaemonProcess::start(std::chrono::milliseconds timeout) {
  auto log_path = dir_ / "daemon.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::chdir(dir_.c_str());
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    // Nothing else of the test's: its sockets (fakes, clients) would stay open in the daemon,
    // count as the daemon's open files and keep connections alive after the test closed them.
    ::closefrom(STDERR_FILENO + 1);
    for (const auto& [k, v] : env_) {
      ::setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> argv;
    for (auto& a : args_) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  static const std::regex kListening(R"(listening on http://[^ ]*:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string text = readFile(log_path);
    if (std::regex_search(text, m, kListening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = decodeStatus(status);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string DaemonProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int DaemonProcess::terminate(std::chrono::milliseconds timeout) {
  if (exit_code_ >= 0) {
    return exit_code_;
  }
  ::kill(pid_, SIGTERM);
  exit_code_ = waitWithTimeout(pid_, timeout);
  return exit_code_;
}

void DaemonProcess::kill9() {
  if (exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = decodeStatus(status);
  }
}

int DaemonProcess::waitExit(std::chrono::milliseconds timeout) {
  if (exit_code_ < 0) {
    exit_code_ = waitWithTimeout(pid_, timeout);
  }
  return exit_code_;
}

std::string DaemonProcess::log() const {
  return readFile(dir_ / "daemon.log");
}

CommandResult runCommand(const std::vector<std::string>& args, const std::string& input,
                         const std::filesystem::path& cwd, std::chrono::milliseconds timeout) {
  CommandResult result;
  auto tmp = std::filesystem::temp_directory_path() /
             ("waflow-cmd-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(tmp);
  std::ofstream(tmp / "in") << input;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::chdir(cwd.c_str());
    int in = ::open((tmp / "in").c_str(), O_RDONLY);
    int out = ::open((tmp / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((tmp / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  result.exit_code = waitWithTimeout(pid, timeout);
  result.out = readFile(tmp / "out");
  result.err = readFile(tmp / "err");
  std::filesystem::remove_all(tmp);
  return result;
}

CommandResult validateYaml(const std::string& yaml) {
  static std::atomic<int> counter{0};
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("waflow-validate-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "waflow.yaml") << yaml;
  CommandResult result = runCommand({waflowBinary().string(), "validate"}, "", dir);
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace waflow::test

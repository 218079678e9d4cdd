#include "http_server/router.h"

#include <algorithm>
#include <stdexcept>

namespace waflow::core::httpd {

namespace {

void checkPath(const std::string& method, const std::string& path, const char* what) {
  if (method.empty()) {
    throw std::invalid_argument(std::string("route ") + what + " '" + path +
                                "': the HTTP method must not be empty");
  }
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument(std::string("route ") + what + " '" + path +
                                "' must start with '/'");
  }
}

}  // namespace

void Router::addTo(PathRoutes& routes, std::string method, RouteHandler handler, std::string label,
                   bool is_prefix) {
  for (const auto& existing : routes.methods) {
    if (existing.method == method) {
      throw std::invalid_argument("route " + method + " " + routes.path + (is_prefix ? "*" : "") +
                                  " is registered twice");
    }
  }
  if (!routes.allow.empty()) {
    routes.allow += ", ";
  }
  routes.allow += method;
  routes.methods.push_back(MethodRoute{std::move(method), std::move(handler), std::move(label)});
}

void Router::add(std::string method, std::string path, RouteHandler handler,
                 std::string route_label) {
  checkPath(method, path, "path");
  if (route_label.empty()) {
    route_label = path;
  }
  auto it = exact_.find(path);
  if (it == exact_.end()) {
    it = exact_.emplace(path, PathRoutes{path, {}, {}}).first;
  }
  addTo(it->second, std::move(method), std::move(handler), std::move(route_label), false);
}

void Router::addPrefix(std::string method, std::string prefix, RouteHandler handler,
                       std::string route_label) {
  checkPath(method, prefix, "prefix");
  if (route_label.empty()) {
    throw std::invalid_argument("route prefix '" + prefix +
                                "' needs a route label (e.g. \"/webhooks/{channel}\")");
  }
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(),
                         [&](const PathRoutes& r) { return r.path == prefix; });
  if (it == prefixes_.end()) {
    prefixes_.push_back(PathRoutes{prefix, {}, {}});
    it = prefixes_.end() - 1;
  }
  addTo(*it, std::move(method), std::move(handler), std::move(route_label), true);
  std::stable_sort(
      prefixes_.begin(), prefixes_.end(),
      [](const PathRoutes& a, const PathRoutes& b) { return a.path.size() > b.path.size(); });
}

Router::Match Router::matchIn(const PathRoutes& routes, std::string_view method) {
  for (const auto& route : routes.methods) {
    if (route.method == method) {
      return Match{&route.handler, route.label, 200, {}};
    }
  }
  // HEAD is served by the GET handler when not registered itself (RFC 9110 9.3.2); the server
  // drops the body.
  if (method == "HEAD") {
    for (const auto& route : routes.methods) {
      if (route.method == "GET") {
        return Match{&route.handler, route.label, 200, {}};
      }
    }
  }
  return Match{nullptr, routes.methods.front().label, 405, routes.allow};
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  if (auto it = exact_.find(path); it != exact_.end()) {
    return matchIn(it->second, method);
  }
  for (const auto& routes : prefixes_) {
    if (path.starts_with(routes.path)) {
      return matchIn(routes, method);
    }
  }
  return Match{nullptr, kUnmatchedLabel, 404, {}};
}

}  // namespace waflow::core::httpd

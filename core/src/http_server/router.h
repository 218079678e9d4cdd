// Router: maps (method, decoded path) to a route handler and a metrics label.
//
// Thread-safety: build it (add/addPrefix) before the server starts; afterwards it is read-only
// and match() may be called from any number of threads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http_server/http_types.h"

namespace waflow::core::httpd {

class Router {
 public:
  // What match() found. `handler` is null when the result is an error status.
  struct Match {
    const RouteHandler* handler = nullptr;
    std::string_view route_label;  // bounded-cardinality label for metrics
    int status = 200;              // 200 (handler set), 404 or 405
    std::string_view allow;        // for 405: comma-separated methods, e.g. "GET, POST"
  };

  // Label used for requests that matched no route (404).
  static constexpr std::string_view kUnmatchedLabel = "(unmatched)";

  // Exact path. `route_label` defaults to the path. Throws std::invalid_argument when the same
  // method and path are registered twice or the path does not start with '/'.
  void add(std::string method, std::string path, RouteHandler handler,
           std::string route_label = "");
  // Every path starting with `prefix`, e.g. "/webhooks/" with label "/webhooks/{channel}".
  // Same errors as add(); the label is required so unbounded paths never become labels.
  void addPrefix(std::string method, std::string prefix, RouteHandler handler,
                 std::string route_label);

  // Exact match first, then the longest matching prefix. A known path whose method is not
  // registered gives 405 with `allow`; an unknown path gives 404. HEAD falls back to the GET
  // handler.
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct MethodRoute {
    std::string method;
    RouteHandler handler;
    std::string label;
  };
  struct PathRoutes {
    std::string path;  // exact path or prefix
    std::vector<MethodRoute> methods;
    std::string allow;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  static void addTo(PathRoutes& routes, std::string method, RouteHandler handler, std::string label,
                    bool is_prefix);
  static Match matchIn(const PathRoutes& routes, std::string_view method);

  std::unordered_map<std::string, PathRoutes, StringHash, std::equal_to<>> exact_;
  std::vector<PathRoutes> prefixes_;  // sorted by prefix length, longest first
};

}  // namespace waflow::core::httpd

// Converts between the plugin ABI's HTTP structs and the core HttpClient's:
// the one place that maps a plugin's waflow_http_request to a ClientRequest
// and a ClientResponse back to the waflow_http_response a plugin receives.
// Used by PluginInstance (and by test hosts that run plugin code in tests).
//
// Thread-safety: pure functions.
#pragma once

#include "http_client/http_client.h"

#include <waflow/sdk/abi.h>

namespace waflow::core::plugin {

ClientRequest clientRequestFrom(const waflow_http_request& request);

waflow_http_error toAbi(ClientError error);

// Calls `callback(user, <response as ABI struct>)`; the struct and its strings
// are valid only during that call.
void deliverResponse(const ClientResponse& response, waflow_http_callback callback, void* user);

}  // namespace waflow::core::plugin

// The admin API's view of quarantined messages (docs/reliability.md#quarantine): GET
// /api/quarantine lists them, POST /api/quarantine/retry hands one back to the flows. The
// caller checks the token.
//
// Thread-safety: stateless; `respond` is called once, from a worker thread.
#pragma once

#include "delivery/inbox.h"
#include "http_server/http_types.h"

namespace waflow::core::admin {

// GET /api/quarantine?limit=&after=: {"messages": [...], "next": <seq> | null}, oldest first;
// pass `next` as `after` for the following page. limit defaults to 100 (at most 1,000).
void serveQuarantine(delivery::Inbox& inbox, const httpd::HttpRequest& request,
                     httpd::Respond respond);

// POST /api/quarantine/retry {"channel": "<id>", "id": "<message id>"}, once the caller has
// read the body: 202 when the message was quarantined and is handled again now, 404 when no
// such message is quarantined.
void retryQuarantined(delivery::Inbox& inbox, const std::string& channel, const std::string& id,
                      httpd::Respond respond);

}  // namespace waflow::core::admin

// A flow for end-to-end tests that reads what the daemon publishes as message.failed: it
// forwards every such event to a FakeGraphApi as a text message to "observer", so the test
// finds it among the fake's sends.
//
// Thread-safety: pure functions.
#pragma once

#include "fake_graph_api.h"

#include <string>

namespace waflow::test {

// The flow's YAML; `text` is the forwarded message's body, a template over `event`, e.g.
// "{{ event.error }}". Sends go to `phone_number_id` with the token "test-token".
inline std::string failureObserverFlow(const FakeGraphApi& fake, const std::string& phone_number_id,
                                       const std::string& text) {
  return R"(id: observe-failures
triggers:
  - on: event
    name: message.failed
steps:
  - id: forward
    http:
      method: POST
      url: )" +
         fake.baseUrl() + "/v23.0/" + phone_number_id + R"(/messages
      headers: { Authorization: "Bearer test-token" }
      body:
        messaging_product: whatsapp
        to: observer
        type: text
        text: { body: ")" +
         text + "\" }\n";
}

}  // namespace waflow::test

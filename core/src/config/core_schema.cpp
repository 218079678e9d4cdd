// The schema of waflow.yaml. docs/configuration.md documents the same keys; a unit test checks
// that every key here is mentioned there.
#include "config/config.h"

namespace waflow::core::config {
namespace {

// Long because it is data: the JSON Schema of waflow.yaml, one key a line, read by the
// validator and published by `waflow schema`.
constexpr const char* kCoreSchema = R"json({
  "type": "object",
  "description": "waflow daemon configuration (waflow.yaml). Every key is optional.",
  "properties": {
    "server": {
      "type": "object",
      "description": "The HTTP server that receives webhooks and serves /healthz, /metrics and the admin API.",
      "properties": {
        "listen": {
          "type": "string",
          "default": "127.0.0.1:8080",
          "description": "Address and port to listen on, as host:port ([::1]:8080 for IPv6, :8080 for all interfaces). Port 0 picks a free port."
        },
        "metrics_listen": {
          "type": "string",
          "default": "",
          "description": "A separate, private address for /metrics, as host:port (e.g. 127.0.0.1:9464); when set, listen no longer serves /metrics. Empty = /metrics is served on listen."
        },
        "threads": {
          "type": "integer", "minimum": 0, "maximum": 1024, "default": 0,
          "description": "Threads running the network event loop; 0 = one per CPU core."
        },
        "body_limit": {
          "type": ["string", "integer"], "format": "size", "minimum": 1024, "default": "1MiB",
          "description": "Largest request body accepted; larger requests get 413."
        },
        "header_limit": {
          "type": ["string", "integer"], "format": "size", "minimum": 1024, "maximum": 1048576, "default": "16KiB",
          "description": "Largest request line and header, counted together with chunk extensions and trailer fields; larger requests get 431."
        },
        "read_timeout": {
          "type": "string", "format": "duration", "minimum": 1, "default": "10s",
          "description": "Time allowed to receive a whole request."
        },
        "idle_timeout": {
          "type": "string", "format": "duration", "minimum": 1, "default": "60s",
          "description": "Time an idle keep-alive connection stays open."
        },
        "shutdown_timeout": {
          "type": "string", "format": "duration", "minimum": 0, "default": "30s",
          "description": "On SIGTERM/SIGINT, time allowed for in-flight work to finish before exiting."
        }
      }
    },
    "log": {
      "type": "object",
      "description": "Logging.",
      "properties": {
        "level": {
          "type": "string", "enum": ["trace", "debug", "info", "warn", "error"], "default": "info",
          "description": "Least severe level written."
        },
        "format": {
          "type": "string", "enum": ["text", "json"], "default": "text",
          "description": "text for people, json (one object per line) for log collectors."
        },
        "file": {
          "type": "string", "default": "",
          "description": "File to append logs to; empty = standard error. Relative to the config file's directory."
        }
      }
    },
    "bus": {
      "type": "object",
      "description": "The internal event bus.",
      "properties": {
        "workers": {
          "type": "integer", "minimum": 0, "maximum": 1024, "default": 0,
          "description": "Threads handling events; 0 = one per CPU core."
        },
        "capacity": {
          "type": "integer", "minimum": 16, "maximum": 67108864, "default": 65536,
          "description": "Events queued at most; publishers wait (or fail) when it is full."
        }
      }
    },
    "plugins": {
      "type": "object",
      "description": "Where plugins are found.",
      "properties": {
        "paths": {
          "type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
          "description": "Extra plugin directories, searched before the built-in ones. Relative to the config file's directory."
        }
      }
    },
    "data_dir": {
      "type": "string", "minLength": 1, "default": "./data",
      "description": "Directory for local state (the SQLite database and others). Relative to the config file's directory."
    },
    "flows_dir": {
      "type": "string", "minLength": 1, "default": "./flows",
      "description": "Directory of flow files (*.yaml). Relative to the config file's directory; `waflow validate` checks every file in it."
    },
    "scripts_dir": {
      "type": "string", "minLength": 1, "default": "./scripts",
      "description": "Directory of Lua rule scripts (*.lua) that flows call. Relative to the config file's directory."
    },
    "channels": {
      "type": "object", "default": {},
      "description": "Channel instances (WhatsApp connections): instance id -> {plugin, config}.",
      "additionalProperties": {"$ref": "instance"}
    },
    "ai": {
      "type": "object", "default": {},
      "description": "AI provider instances: instance id -> {plugin, config}.",
      "additionalProperties": {"$ref": "instance"}
    },
    "integrations": {
      "type": "object", "default": {},
      "description": "Integration instances (payments, CRMs, ...): instance id -> {plugin, config}.",
      "additionalProperties": {"$ref": "instance"}
    },
    "storage": {
      "$ref": "instance", "default": {"plugin": "storage-sqlite"},
      "description": "Where received messages, the outbox, statuses and contacts are kept durably: {plugin, config}. Default: storage-sqlite, a database file in data_dir."
    },
    "flows": {
      "type": "object",
      "description": "The flow engine that runs the flows in flows_dir with the Lua rules in scripts_dir. docs/flows.md explains flows.",
      "properties": {
        "enabled": {
          "type": "boolean", "default": true,
          "description": "false: flows are not run and auto_reply answers every message."
        },
        "watch": {
          "type": "boolean", "default": true,
          "description": "Reload flows and scripts when a file in flows_dir or scripts_dir changes. A changed set with errors is refused and the previous one keeps running. SIGHUP and POST /admin/reload reload too."
        },
        "watch_interval": {
          "type": "string", "format": "duration", "minimum": 100, "default": "2s",
          "description": "How often the flow and script files are checked for changes."
        },
        "wait_expiry": {
          "type": "string", "format": "duration", "minimum": 1000, "default": "24h",
          "description": "How long an ask or wait step without its own timeout waits; then the step fails and takes its on_error path."
        },
        "handoff_release_after": {
          "type": "string", "format": "duration", "minimum": 0, "default": "0s",
          "description": "A conversation handed to a human goes back to the bot when the customer writes after this long, if nobody released it (so a forgotten handoff does not silence the bot for good). A handoff step's release_after overrides it. 0s = never."
        },
        "missed_jobs": {
          "type": "string", "enum": ["run", "skip"], "default": "run",
          "description": "Scheduled work (follow-ups, delays, schedule triggers) that fell due while waflow was stopped: run it at start, or skip it."
        },
        "lua_time_budget": {
          "type": "string", "format": "duration", "minimum": 1, "default": "50ms",
          "description": "How long one Lua rule may run before it is stopped."
        },
        "max_rule_text": {
          "type": "integer", "minimum": 1, "maximum": 65536, "default": 4096,
          "description": "How many characters of a customer's message flows work on: triggers, conditions (keywords, regex, Lua), ask answers and Lua rules see the text cut to this length, on a character boundary. The message is stored and shown whole. 4096 is WhatsApp's own text limit."
        },
        "lua_memory_limit": {
          "type": "integer", "minimum": 1048576, "default": 8388608,
          "description": "Bytes of memory each Lua state may use (one state per worker thread)."
        },
        "time_zone": {
          "type": "string", "default": "UTC",
          "description": "The IANA time zone Lua time helpers use when a rule names none, e.g. Asia/Jakarta."
        },
        "cache_contacts": {
          "type": "integer", "minimum": 0, "default": 100000,
          "description": "Contacts and conversation states kept in memory (storage stays the record)."
        },
        "admin_token": {
          "type": "string", "default": "",
          "description": "Bearer token for the admin API (POST /admin/reload, POST /api/events, POST /api/conversations/release, GET /api/insights, GET /api/usage). Empty = the admin API is off."
        }
      }
    },
    "inbox": {
      "type": "object",
      "description": "Where customer messages are kept from the moment they are acknowledged until they are handled. docs/reliability.md explains the guarantees.",
      "properties": {
        "max_attempts": {
          "type": "integer", "minimum": 1, "maximum": 1000, "default": 3,
          "description": "Handlings a message may begin before it is quarantined: the first, then one more for each restart that finds it unfinished. A message that keeps ending the daemon (a crash, a freeze that had to be killed) is set aside after this many, so the bot keeps answering everyone else; GET /api/quarantine lists it."
        }
      }
    },
    "outbox": {
      "type": "object",
      "description": "The sender: every reply is written to the outbox in storage first, then sent with rate limits, retries and per-conversation order. docs/reliability.md explains the guarantees.",
      "properties": {
        "rate_limit": {
          "type": "integer", "minimum": 0, "default": 80,
          "description": "Messages per second sent through one channel instance (one WhatsApp number). Meta's default is 80; 0 = no limit."
        },
        "channel_rate_limits": {
          "type": "object", "default": {},
          "additionalProperties": {"type": "integer", "minimum": 0},
          "description": "Per channel instance id, a rate_limit that replaces the default (e.g. 1000 for an upgraded number, 20 for a coexistence number)."
        },
        "recipient_burst": {
          "type": "integer", "minimum": 0, "default": 5,
          "description": "Messages sent back to back to one contact before pacing starts (Meta's pair rate limit); 0 = no pacing."
        },
        "recipient_interval": {
          "type": "string", "format": "duration", "minimum": 1, "default": "6s",
          "description": "Once the burst is used, one message per this interval to the same contact."
        },
        "max_attempts": {
          "type": "integer", "minimum": 1, "maximum": 100, "default": 10,
          "description": "Send attempts before a message is marked failed (only transient errors are retried)."
        },
        "retry_initial": {
          "type": "string", "format": "duration", "minimum": 1, "default": "1s",
          "description": "Delay before the first retry; it doubles with each attempt (with jitter) unless the provider says how long to wait (Retry-After)."
        },
        "retry_max": {
          "type": "string", "format": "duration", "minimum": 1, "default": "10m",
          "description": "Longest delay between two attempts."
        },
        "lease": {
          "type": "string", "format": "duration", "minimum": 1000, "default": "2m",
          "description": "How long a send may be in progress before it is presumed interrupted (a crash) and becomes 'in doubt'. Keep it above the channel's request timeout."
        },
        "in_doubt": {
          "type": "string", "enum": ["resend", "fail"], "default": "resend",
          "description": "What to do with a send whose outcome is unknown (interrupted by a crash, or no answer after the request went out) when no status from the provider has shown it arrived within in_doubt_grace: resend it, or mark it failed."
        },
        "in_doubt_grace": {
          "type": "string", "format": "duration", "minimum": 0, "default": "30s",
          "description": "How long a send whose outcome is unknown waits for a status webhook that proves it reached the provider before in_doubt applies; its conversation's later replies wait with it."
        },
        "customer_window": {
          "type": "string", "enum": ["enforce", "off"], "default": "enforce",
          "description": "enforce: a free-form message to a contact who has not written in the last 24 hours is not sent (WhatsApp would reject it); it is replaced by window_template when one is set, else it fails with a clear reason. off: send anyway."
        },
        "window_template": {
          "type": "object",
          "description": "The approved template sent instead of a free-form message outside the 24-hour window.",
          "properties": {
            "name": {"type": "string", "minLength": 1, "description": "Template name as approved in WhatsApp Manager."},
            "language": {"type": "string", "minLength": 2, "default": "en_US", "description": "Template language code, e.g. id or en_US."},
            "components": {"type": "array", "default": [], "items": {"type": "object"}, "description": "Template components (header/body/button parameters), as in the Cloud API."}
          },
          "required": ["name"]
        },
        "owner": {
          "type": "string", "default": "",
          "description": "This daemon's name on the sends it holds (leases); empty = the host name. Give each daemon sharing one database its own."
        }
      }
    },
    "auto_reply": {
      "type": "object",
      "description": "The built-in reply used when no flow handles a message.",
      "properties": {
        "enabled": {
          "type": "boolean", "default": true,
          "description": "Whether messages no flow handled get an automatic reply."
        },
        "mode": {
          "type": "string", "enum": ["ai", "echo", "text"], "default": "ai",
          "description": "ai: ask an AI instance; echo: repeat the message; text: always send `text`."
        },
        "text": {
          "type": "string", "default": "",
          "description": "The reply for mode text (required then)."
        },
        "ai": {
          "type": "string", "default": "",
          "description": "The ai instance id to ask; empty = the first ai instance."
        },
        "system_prompt": {
          "type": "string", "default": "",
          "description": "System prompt sent to the AI in mode ai."
        },
        "keywords": {
          "type": "object", "default": {},
          "additionalProperties": {"type": "string"},
          "description": "keyword -> reply text, checked before the mode: matches when the whole message or one of its words equals the keyword, ignoring case."
        },
        "answer_types": {
          "type": "array",
          "default": ["text", "image", "video", "audio", "document", "location", "contacts", "interactive", "button", "order"],
          "items": {
            "type": "string",
            "enum": ["text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive", "button", "order", "reaction", "edit", "revoke", "request_welcome", "system", "unsupported", "unknown"]
          },
          "description": "The message types the auto-reply answers; others (by default reactions, stickers, edits, deletions, request_welcome, system notices and unsupported messages) are stored and left unanswered. Flows trigger on any type they name."
        }
      }
    }
  }
})json";

constexpr const char* kInstanceSchema = R"json({
  "type": "object",
  "description": "A plugin instance.",
  "properties": {
    "plugin": {
      "type": "string", "minLength": 1,
      "description": "Name of the plugin to instantiate, e.g. channel-cloudapi."
    },
    "config": {
      "type": "object", "x-raw": true,
      "description": "The plugin's settings, checked against the schema the plugin declares."
    }
  },
  "required": ["plugin"]
})json";

constexpr const char* kAiPricesSchema = R"json({
  "type": "object", "default": {},
  "description": "Prices per million tokens by model id (or \"*\" for any other model), in the currency you bill in: {input, output, cached_input}. Token usage recorded for each AI call then carries its cost.",
  "additionalProperties": {
    "type": "object",
    "properties": {
      "input": {"type": "number", "minimum": 0, "description": "Per million prompt tokens."},
      "output": {"type": "number", "minimum": 0, "description": "Per million completion tokens (reasoning included)."},
      "cached_input": {"type": "number", "minimum": 0, "description": "Per million prompt tokens served from the provider's cache; default: input."}
    },
    "required": ["input", "output"]
  }
})json";

constexpr const char* kKnowledgeSchema = R"json({
  "type": "object", "default": {},
  "description": "Knowledge bases the AI can search (docs/knowledge.md): knowledge id -> {sources, chunk_size, embeddings}. Files are indexed into storage and indexed again when they change.",
  "additionalProperties": {
    "type": "object",
    "properties": {
      "sources": {
        "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
        "description": "Markdown (.md), text (.txt) and CSV FAQ (.csv: question,answer[,tags]) files, or folders searched recursively for them. Relative to the config file's directory."
      },
      "chunk_size": {
        "type": "integer", "minimum": 200, "maximum": 8000, "default": 800,
        "description": "Largest passage in characters (bytes of UTF-8); longer sections are split at paragraph ends."
      },
      "embeddings": {
        "type": "object",
        "description": "Optional: an OpenAI-compatible embeddings endpoint; search then combines word matching (BM25) with vector similarity.",
        "properties": {
          "base_url": {"type": "string", "pattern": "^https?://", "description": "The API's base URL, e.g. https://api.openai.com/v1; {base_url}/embeddings is called."},
          "model": {"type": "string", "minLength": 1, "description": "Embedding model, e.g. text-embedding-3-small."},
          "api_key": {"type": "string", "secret": true, "default": "", "description": "Sent as Authorization: Bearer. Use ${ENV_VAR} rather than writing it in the file."},
          "dimensions": {"type": "integer", "minimum": 1, "maximum": 8192, "description": "Requested vector size, for models that accept one (text-embedding-3-*); default: the model's own."},
          "batch_size": {"type": "integer", "minimum": 1, "maximum": 2048, "default": 64, "description": "Passages embedded per request while indexing."},
          "timeout": {"type": "string", "format": "duration", "minimum": 100, "default": "30s", "description": "Time allowed for one embeddings request."}
        },
        "required": ["base_url", "model"]
      }
    },
    "required": ["sources"]
  }
})json";

// Replaces {"$ref": "instance", ...} (a placeholder, not general $ref support)
// with the instance schema; keys beside the $ref (a default, a description)
// override the schema's own.
void resolveRefs(nlohmann::json& node, const nlohmann::json& instance) {
  if (node.is_object()) {
    if (node.contains("$ref") && node["$ref"] == "instance") {
      nlohmann::json resolved = instance;
      for (auto& [key, value] : node.items()) {
        if (key != "$ref") {
          resolved[key] = value;
        }
      }
      node = std::move(resolved);
      return;
    }
    for (auto& [key, child] : node.items()) {
      resolveRefs(child, instance);
    }
  }
}

}  // namespace

const nlohmann::json& coreConfigSchema() {
  static const nlohmann::json schema = [] {
    nlohmann::json s = nlohmann::json::parse(kCoreSchema);
    resolveRefs(s, nlohmann::json::parse(kInstanceSchema));
    s["properties"]["knowledge"] = nlohmann::json::parse(kKnowledgeSchema);
    // AI instances also take a price table, so token usage gets a cost.
    s["properties"]["ai"]["additionalProperties"]["properties"]["prices"] =
        nlohmann::json::parse(kAiPricesSchema);
    return s;
  }();
  return schema;
}

}  // namespace waflow::core::config

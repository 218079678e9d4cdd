// waflow-bench-signed-webhooks: writes distinct WhatsApp Cloud API webhooks, each with a valid
// X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret), for wrk to post to
// channel-cloudapi, which refuses unsigned bodies. wrk's LuaJIT has no HMAC, so the bodies are
// made here once, before the load starts.
//
//   waflow-bench-signed-webhooks --secret S --phone-number-id P --count N --slices T --out F
//
// writes F.1 ... F.T (one per wrk thread, so ids never repeat across threads), each line
// "sha256=<hex>\t<body>". Every body is Meta's envelope (entry, changes, metadata,
// contacts/profile) with one text message: a unique id "wamid.bench.<tag>.<n>", a sender
// rotating over --senders numbers, texts of varying length, sometimes a reply context or an ad
// referral (bodies average about 830 bytes; it prints the average) and a text ending in
// "(ref <tag>.<n>)", so an echoed reply is unique too and a duplicate delivery can be told
// apart. Single-threaded program.
#include <CLI/CLI.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

// Customer messages of different lengths (no characters that need JSON escaping).
constexpr std::array<const char*, 6> kTexts = {
    "Halo kak, pesanan saya sudah dikirim belum?",
    "Hi, I would like to know whether the blue running shoes in size 42 are back in stock. If "
    "they are, please reserve two pairs for me and tell me the total with delivery to Surabaya.",
    "Selamat pagi, saya mau konfirmasi pembayaran untuk invoice INV/2024/07/5521 sebesar Rp "
    "845.000 lewat transfer BCA tadi malam jam 21.40. Mohon dicek dan dikabari kalau sudah "
    "masuk ya kak, karena barangnya mau dipakai untuk acara hari Sabtu. Terima kasih banyak.",
    "ok siap",
    "Good afternoon. My package arrived today but one of the three items is missing: the "
    "charger cable is not in the box even though the packing list says it should be. Order "
    "number 7731-2290. Can you send the missing item or refund that part of the order? I can "
    "send a photo of the box and the packing list if that helps. Thank you.",
    "Jam buka toko hari Minggu sampai jam berapa?",
};

// Meta adds "context" when the customer answers a business message and "referral" when they
// come from a click-to-WhatsApp ad; both are common.
constexpr const char* kContext =
    R"(,"context":{"from":"15550783881","id":)"
    R"("wamid.HBgNNjI4MTIxMDAwMDAwMRUCABEYEjQwQzY5RjA3QjE1RDQ2RjZBMgA="})";
constexpr const char* kReferral =
    R"(,"referral":{"source_url":"https://fb.me/4kGtQ2xYz","source_id":"120208737436230127",)"
    R"("source_type":"ad","headline":"Gratis ongkir minggu ini","body":"Chat kami untuk cek )"
    R"(stok dan ukuran.","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/)"
    R"(t45.1600-4/412345678_1234567890123456_7890123456789012345_n.jpg","ctwa_clid":)"
    R"("ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4jdQ2XoZ7mPq1sT"})";

std::string hexDigest(const unsigned char* data, unsigned n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Signed WhatsApp Cloud API webhook bodies for wrk (one file per wrk thread)"};
  std::string secret;
  std::string phone_number_id;
  std::string out;
  std::string tag = std::to_string(std::time(nullptr));
  long count = 0;
  int slices = 2;
  int senders = 10000;
  app.add_option("--secret", secret, "The channel's app_secret")->required();
  app.add_option("--phone-number-id", phone_number_id, "metadata.phone_number_id of every body")
      ->required();
  app.add_option("--count", count, "Bodies in all")->required()->check(CLI::PositiveNumber);
  app.add_option("--slices", slices, "Files (one per wrk thread)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--senders", senders, "Distinct customer numbers")
      ->capture_default_str()
      ->check(CLI::Range(1, 99999999));
  app.add_option("--tag", tag, "Part of every message id, distinct per run")->capture_default_str();
  app.add_option("--out", out, "Output prefix: writes <out>.1 ... <out>.<slices>")->required();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<std::ofstream>> files;
  for (int s = 1; s <= slices; ++s) {
    std::string path = out + "." + std::to_string(s);
    files.push_back(std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc));
    if (!*files.back()) {
      std::cerr << "waflow-bench-signed-webhooks: cannot write " << path << "\n";
      return 1;
    }
  }

  const std::string timestamp = std::to_string(std::time(nullptr));
  const std::string head =
      R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[)"
      R"({"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":)"
      R"("15550783881","phone_number_id":")" +
      phone_number_id + R"("},"contacts":[{"profile":{"name":"Customer )";
  const std::array<const char*, 4> extras = {"", kReferral, kContext, kReferral};
  std::string body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  uint64_t total_bytes = 0;
  for (long i = 0; i < count; ++i) {
    // A coprime stride spreads consecutive bodies, and so each wrk thread, over the senders.
    long sender = (i * 7919) % senders;
    char wa_id[32];
    std::snprintf(wa_id, sizeof wa_id, "62812%08ld", 10000000 + sender);
    std::string id = "wamid.bench." + tag + "." + std::to_string(i);
    body.clear();
    body += head;
    body += std::to_string(sender);
    body += R"("},"wa_id":")";
    body += wa_id;
    body += R"("}],"messages":[{"from":")";
    body += wa_id;
    body += R"(","id":")";
    body += id;
    body += R"(","timestamp":")";
    body += timestamp;
    body += R"(","text":{"body":")";
    body += kTexts[static_cast<std::size_t>(i) % kTexts.size()];
    body += " (ref " + tag + "." + std::to_string(i) + ")";
    body += R"("},"type":"text")";
    body += extras[static_cast<std::size_t>(i) % extras.size()];
    body += R"(}]},"field":"messages"}]}]})";
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len);
    std::ofstream& f = *files[static_cast<std::size_t>(i % slices)];
    f << "sha256=" << hexDigest(mac, mac_len) << '\t' << body << '\n';
    total_bytes += body.size();
  }
  for (auto& f : files) {
    f->close();
    if (!*f) {
      std::cerr << "waflow-bench-signed-webhooks: writing " << out << ".* failed (disk full?)\n";
      return 1;
    }
  }
  std::cout << "bodies " << count << " average_bytes " << total_bytes / static_cast<uint64_t>(count)
            << std::endl;
  return 0;
}

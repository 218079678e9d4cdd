// RequestParser: Beast's HTTP/1.1 request parser, with every part of the framing bounded and
// ambiguous framing refused.
//
// Beast's own request_parser bounds the request line and header (header_limit) and the body
// (body_limit), but not what comes between and after: chunk extensions and the trailer section
// are unbounded, and trailer fields are merged into the header, where one over 65,535 bytes
// throws std::length_error. This parser:
//   - counts chunk extensions and trailer fields against one framing budget (the header limit),
//     together with the header bytes its owner reports through addFramingBytes();
//   - discards trailer fields (RFC 9110 §6.5.1 allows it), so nothing sent after the body can
//     pose as a header that a handler or a front proxy checked;
//   - refuses a field or target over 65,535 bytes (what Beast can store) instead of throwing;
//   - refuses framing that two HTTP implementations could read differently (RFC 9112 §6.1,
//     §6.3): Transfer-Encoding with Content-Length, a final coding that is not chunked, chunked
//     applied twice, Transfer-Encoding in HTTP/1.0. Codings other than chunked are not
//     implemented (501).
// Beast reports each refusal as an error_code from put(); refusal() says which one it was.
//
// Thread-safety: none; one parser per request, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace waflow::core::httpd {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  using Message = boost::beast::http::request<boost::beast::http::string_body>;
  using error_code = boost::system::error_code;

  enum class Refusal {
    kNone,
    kFramingLimit,       // header + chunk extensions + trailer over the limit (431)
    kFieldTooLarge,      // one field or the target over 65,535 bytes (431)
    kAmbiguousFraming,   // Transfer-Encoding the server cannot read unambiguously (400)
    kUnsupportedCoding,  // a transfer coding other than chunked (501)
  };

  RequestParser(std::size_t header_limit, std::size_t body_limit);

  Message& get() { return message_; }
  const Message& get() const { return message_; }

  // Counts `n` bytes of framing (the reader reports the header's bytes); false once the total is
  // over the limit.
  bool addFramingBytes(std::size_t n);
  // Framing bytes left before the limit.
  std::size_t framingLeft() const;

  Refusal refusal() const { return refusal_; }
  // What was refused, for the client's error message (e.g. "Transfer-Encoding: gzip").
  const std::string& refusalDetail() const { return refusal_detail_; }

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version, error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 error_code& ec) override;
  void on_finish_impl(error_code& ec) override { ec = {}; }

  void refuse(Refusal why, std::string detail, error_code& ec);
  void checkFraming(error_code& ec);

  Message message_;
  std::size_t framing_limit_;
  std::size_t framing_used_ = 0;
  bool saw_content_length_ = false;
  bool saw_transfer_encoding_ = false;
  std::string transfer_encoding_;  // every Transfer-Encoding field, joined with ", "
  Refusal refusal_ = Refusal::kNone;
  std::string refusal_detail_;
};

}  // namespace waflow::core::httpd

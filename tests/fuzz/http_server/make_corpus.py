#!/usr/bin/env python3
"""Writes the seed corpus of http_request_fuzz (corpus/http_request/) in the delivery format of
request_feed.h: each delivery is kind:u8 len:u8 [count:u16le when kind & 1] bytes[len].

Run it again after changing the seeds: python3 tests/fuzz/http_server/make_corpus.py
"""
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "http_request"


def plain(data: bytes, read_size: int = 255) -> bytes:
    """`data` in deliveries of at most `read_size` bytes (one socket read each)."""
    out = b""
    for i in range(0, len(data), read_size):
        piece = data[i:i + read_size]
        out += bytes([0, len(piece)]) + piece
    return out


def repeat(piece: bytes, count: int) -> bytes:
    """One delivery of `piece` repeated `count` times."""
    return bytes([1, len(piece)]) + struct.pack("<H", count) + piece


GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
POST = (b"POST /webhooks/sandbox HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        b"Content-Length: 13\r\n\r\n{\"object\":1}\n")
CHUNKED_HEAD = b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED = CHUNKED_HEAD + b"5;name=value\r\nhello\r\n6;q=\"x y\"\r\n world\r\n0\r\nX-Sig: s\r\n\r\n"

SEEDS = {
    "get": plain(GET),
    "get_byte_by_byte": plain(GET, read_size=1),
    "post_content_length": plain(POST),
    "post_split_in_body": plain(POST, read_size=70),
    "chunked_extensions_trailer": plain(CHUNKED),
    "chunked_repeated_trailer_value": plain(CHUNKED_HEAD + b"3\r\nabc\r\n0\r\nX-Trailer: ")
    + repeat(b"ab", 3) + plain(b"\r\n\r\n"),
    # Boundary seed: a 60,000-byte trailer field, just under the 65,535 bytes Beast can store
    # in one field (a mutated count crosses it; that crashed the server before the reader).
    "chunked_trailer_field_near_64k": plain(CHUNKED_HEAD + b"0\r\nX-Big: ")
    + repeat(b"ab", 30000) + plain(b"\r\n\r\n"),
    # Boundary seed at the limit itself: the longest trailer field Beast stores ("X:" and
    # 65,533 bytes), in a small input, so that many single mutations (one more byte, a CR
    # changed, a count raised) make it longer. With the reader's fix reverted, that is the
    # std::length_error that ended the process, and the fuzzer finds it within seconds.
    "chunked_trailer_field_at_64k": plain(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX:")
    + repeat(b"a", 65533) + plain(b"\r\n\r\n"),
    "chunked_trailer_field_at_64k_split": plain(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX:")
    + repeat(b"a", 65000) + repeat(b"b", 533) + plain(b"\r\n\r\n"),
    "chunked_trailer_field_at_64k_pairs": plain(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX:")
    + repeat(b"ab", 32766) + plain(b"a\r\n") + plain(b"\r\n"),
    "chunked_repeated_extension": plain(CHUNKED_HEAD + b"1;e=") + repeat(b"x", 4)
    + plain(b"\r\na\r\n0\r\n\r\n"),
    "chunked_many_chunks": plain(CHUNKED_HEAD) + repeat(b"1\r\na\r\n", 8) + plain(b"0\r\n\r\n"),
    "repeated_header_value": plain(b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ") + repeat(b"b", 40)
    + plain(b"\r\n\r\n"),
    "pipelined": plain(GET + POST + CHUNKED + GET),
    "expect_continue": plain(b"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                             b"Content-Length: 4\r\n\r\nabcd"),
    "http10_keep_alive": plain(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + GET),
    "te_gzip_chunked": plain(b"POST /e HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    "te_chunked_identity": plain(b"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                                 + GET),
    "te_with_content_length": plain(b"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                    b"Content-Length: 5\r\n\r\n0\r\n\r\n"),
    "two_content_lengths": plain(b"POST /e HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
                                 b"\r\nab"),
    "absolute_target": plain(b"GET http://h/webhooks/x?hub.mode=subscribe HTTP/1.1\r\nHost: h\r\n\r\n"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()

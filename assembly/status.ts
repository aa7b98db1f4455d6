// Status codes returned (negated) by the parser and stored in the parser state.
//
// APPEND-ONLY: numbers are part of the ABI and of logs. Never renumber, never reuse;
// add new codes at the end. src/wasm/abi.generated.ts is generated from this file
// (`npm run build:wasm`), and test/wasm/abi.test.ts fails when the two drift.
//
// Each line: `NAME = N, // HTTP-status reason` — the generator reads the comment, so
// keep that shape: the HTTP status the server answers with, then the human reason.

export const enum Status {
  OK = 0, // 200 no error
  NEED_MORE = 1, // 0 incomplete input: feed more bytes
  INVALID_METHOD = 2, // 400 method is not a token followed by a single space
  UNKNOWN_METHOD = 3, // 501 method is a valid token but not one this server implements
  INVALID_TARGET = 4, // 400 invalid character in request-target
  EMPTY_TARGET = 5, // 400 empty request-target
  INVALID_TARGET_FORM = 6, // 400 request-target form does not fit the method (asterisk only for OPTIONS, authority only for CONNECT)
  INVALID_VERSION = 7, // 400 malformed HTTP-version
  UNSUPPORTED_VERSION = 8, // 505 HTTP version other than 1.0 or 1.1
  REQUEST_LINE_TOO_LONG = 9, // 414 request line longer than the configured limit
  EXPECTED_CRLF = 10, // 400 line does not end in CRLF (bare CR, or junk where CRLF belongs)
  BARE_LF = 11, // 400 line ends in a bare LF (RFC 9112 §2.2)
  BARE_CR = 12, // 400 CR not followed by LF (RFC 9112 §2.2)
  INVALID_HEADER_NAME = 13, // 400 invalid character in a field name
  EMPTY_HEADER_NAME = 14, // 400 empty field name
  WHITESPACE_BEFORE_COLON = 15, // 400 whitespace between field name and colon (RFC 9112 §5.1)
  INVALID_HEADER_VALUE = 16, // 400 control character in a field value
  OBS_FOLD = 17, // 400 obsolete line folding (RFC 9112 §5.2)
  WHITESPACE_AFTER_START_LINE = 18, // 400 whitespace before the first field line (RFC 9112 §2.2)
  HEADERS_TOO_LARGE = 19, // 431 header section larger than the configured limit
  TOO_MANY_HEADERS = 20, // 431 more field lines than the configured limit
  MISSING_HOST = 21, // 400 HTTP/1.1 request without Host (RFC 9112 §3.2)
  DUPLICATE_HOST = 22, // 400 more than one Host field line (RFC 9112 §3.2)
  INVALID_HOST = 23, // 400 invalid Host field value (RFC 9112 §3.2)
  INVALID_CONTENT_LENGTH = 24, // 400 Content-Length is not 1*DIGIT
  DUPLICATE_CONTENT_LENGTH = 25, // 400 more than one Content-Length field line or a list value
  CONTENT_LENGTH_OVERFLOW = 26, // 400 Content-Length larger than 2^53-1
  CONTENT_LENGTH_WITH_TE = 27, // 400 both Content-Length and Transfer-Encoding (RFC 9112 §6.1)
  INVALID_TRANSFER_ENCODING = 28, // 400 malformed Transfer-Encoding value
  CHUNKED_NOT_FINAL = 29, // 400 chunked is not the final transfer coding (RFC 9112 §6.3)
  CHUNKED_TWICE = 30, // 400 chunked applied more than once (RFC 9112 §6.1)
  UNSUPPORTED_TRANSFER_ENCODING = 31, // 501 transfer coding this server does not implement
  TRANSFER_ENCODING_HTTP10 = 32, // 400 Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)
  INVALID_CONNECTION = 33, // 400 Connection value is not a list of tokens
  BODY_TOO_LARGE = 34, // 413 body larger than the configured limit
  INVALID_CHUNK_SIZE = 35, // 400 chunk size is not 1*HEXDIG
  CHUNK_SIZE_OVERFLOW = 36, // 400 chunk size larger than 2^53-1
  INVALID_CHUNK_EXTENSION = 37, // 400 malformed chunk extension
  CHUNK_EXTENSIONS_TOO_LARGE = 38, // 413 chunk extensions longer than the configured limit
  INVALID_CHUNK_DATA_END = 39, // 400 chunk data not followed by CRLF
  DATA_AFTER_CLOSE = 40, // 400 bytes after a message that closes the connection
  UPGRADED = 41, // 400 the connection was handed to another protocol (Upgrade/CONNECT); the parser takes no more bytes
  CONNECT_WITH_BODY = 42, // 400 CONNECT request with Content-Length or Transfer-Encoding
  INVALID_STATE = 43, // 500 parser called after it failed, or with a corrupt state
  INVALID_AUTHORITY = 44, // 400 absolute-form authority is empty, has userinfo, or has characters outside host[:port] (RFC 9110 §4.2)
}

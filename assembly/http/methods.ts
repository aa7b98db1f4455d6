// Request methods Conduit parses. The id of a method is its 1-based position in
// METHOD_TABLE; the host reads the names from this table at load time (http_method_table),
// so TypeScript never keeps a second copy that could drift. APPEND-ONLY like Status.
//
// The set is RFC 9110 §9 (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE), PATCH
// (RFC 5789), QUERY (draft-ietf-httpbis-safe-method-w-body) and the WebDAV/UPnP/ICE
// methods llhttp also knows; any other token is answered 501 (RFC 9110 §9.1).

export namespace Method {
  export const DELETE: u32 = 1;
  export const GET: u32 = 2;
  export const HEAD: u32 = 3;
  export const POST: u32 = 4;
  export const PUT: u32 = 5;
  export const CONNECT: u32 = 6;
  export const OPTIONS: u32 = 7;
  export const TRACE: u32 = 8;
  export const PATCH: u32 = 9;
  export const QUERY: u32 = 10;
  export const COPY: u32 = 11;
  export const LOCK: u32 = 12;
  export const MKCOL: u32 = 13;
  export const MOVE: u32 = 14;
  export const PROPFIND: u32 = 15;
  export const PROPPATCH: u32 = 16;
  export const SEARCH: u32 = 17;
  export const UNLOCK: u32 = 18;
  export const BIND: u32 = 19;
  export const REBIND: u32 = 20;
  export const UNBIND: u32 = 21;
  export const ACL: u32 = 22;
  export const REPORT: u32 = 23;
  export const MKACTIVITY: u32 = 24;
  export const CHECKOUT: u32 = 25;
  export const MERGE: u32 = 26;
  export const M_SEARCH: u32 = 27;
  export const NOTIFY: u32 = 28;
  export const SUBSCRIBE: u32 = 29;
  export const UNSUBSCRIBE: u32 = 30;
  export const PURGE: u32 = 31;
  export const MKCALENDAR: u32 = 32;
  export const LINK: u32 = 33;
  export const UNLINK: u32 = 34;
  export const SOURCE: u32 = 35;
}

export const METHOD_COUNT: u32 = 35;

// DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE PATCH QUERY COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE PURGE MKCALENDAR LINK UNLINK SOURCE, NUL-terminated, then a final NUL (244 bytes).
// @ts-ignore: decorator
@lazy export const METHOD_TABLE = memory.data<u8>([
  68, 69, 76, 69, 84, 69, 0, 71, 69, 84, 0, 72, 69, 65, 68, 0, 80, 79, 83, 84, 0, 80, 85, 84,
  0, 67, 79, 78, 78, 69, 67, 84, 0, 79, 80, 84, 73, 79, 78, 83, 0, 84, 82, 65, 67, 69, 0, 80,
  65, 84, 67, 72, 0, 81, 85, 69, 82, 89, 0, 67, 79, 80, 89, 0, 76, 79, 67, 75, 0, 77, 75, 67,
  79, 76, 0, 77, 79, 86, 69, 0, 80, 82, 79, 80, 70, 73, 78, 68, 0, 80, 82, 79, 80, 80, 65, 84,
  67, 72, 0, 83, 69, 65, 82, 67, 72, 0, 85, 78, 76, 79, 67, 75, 0, 66, 73, 78, 68, 0, 82, 69,
  66, 73, 78, 68, 0, 85, 78, 66, 73, 78, 68, 0, 65, 67, 76, 0, 82, 69, 80, 79, 82, 84, 0, 77,
  75, 65, 67, 84, 73, 86, 73, 84, 89, 0, 67, 72, 69, 67, 75, 79, 85, 84, 0, 77, 69, 82, 71, 69,
  0, 77, 45, 83, 69, 65, 82, 67, 72, 0, 78, 79, 84, 73, 70, 89, 0, 83, 85, 66, 83, 67, 82, 73,
  66, 69, 0, 85, 78, 83, 85, 66, 83, 67, 82, 73, 66, 69, 0, 80, 85, 82, 71, 69, 0, 77, 75, 67,
  65, 76, 69, 78, 68, 65, 82, 0, 76, 73, 78, 75, 0, 85, 78, 76, 73, 78, 75, 0, 83, 79, 85, 82,
  67, 69, 0, 0,
]);

// Little-endian words for the fast path: "GET ", "POST", "PUT ", "HEAD".
const W_GET_SP: u32 = 0x20544547;
const W_POST: u32 = 0x54534f50;
const W_PUT_SP: u32 = 0x20545550;

/**
 * Method id of the token [p, p+len), or 0 when it is not in METHOD_TABLE.
 * Methods are case-sensitive (RFC 9110 §9.1). `p[len]` is the SP after the method.
 */
export function identifyMethod(p: usize, len: usize): u32 {
  // The common methods in one or two loads.
  if (len == 3 && load<u32>(p) == W_GET_SP) return Method.GET;
  if (len == 4 && load<u32>(p) == W_POST) return Method.POST;
  if (len == 3 && load<u32>(p) == W_PUT_SP) return Method.PUT;
  let t = METHOD_TABLE;
  let id: u32 = 1;
  while (load<u8>(t) != 0) {
    let n: usize = 0;
    while (load<u8>(t + n) != 0) n++;
    if (n == len && memory.compare(t, p, len) == 0) return id;
    t += n + 1;
    id++;
  }
  return 0;
}

// IPv4/IPv6 address and CIDR parsing for the `cidr` operator and IP-valued exact matches in event patterns.
//
// The rules follow aws/event-ruler (the engine behind EventBridge), which reads addresses with
// java.net.InetAddress after a syntax pre-check: dotted-quad IPv4 and colon-hex IPv6 only (no zone ids, no
// embedded dotted IPv4), IPv4-mapped IPv6 addresses (::ffff:a.b.c.d written in hex) count as IPv4, and a CIDR's
// host bits are cleared before the range is formed.

/** An address as a number (IPv4, 0 … 2³²−1) or a bigint (IPv6, 0 … 2¹²⁸−1); the type tells the family apart. */
export type IpAddressValue = number | bigint;

/** An inclusive address range of one family. */
export type IpRange =
  | { readonly lo: number; readonly hi: number }
  | { readonly lo: bigint; readonly hi: bigint };

/** Thrown for a malformed CIDR; the message is event-ruler's wording, the pattern compiler adds the path. */
export class CidrSyntaxError extends Error {
  override readonly name = "CidrSyntaxError";
}

const IPV4_BITS = 32;
const IPV6_BITS = 128;
const IPV6_GROUPS = 8;
const IPV6_GROUP_MAX_DIGITS = 4;
const OCTET_MAX = 255;
const OCTET_RADIX = 256;
const DECIMAL_RADIX = 10;
const IPV4_MAPPED_PREFIX = 0xffffn;
const IPV4_MASK = 0xffff_ffffn;
const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DOT = 46;

// event-ruler's pre-check: only text of these shapes is ever treated as an address.
const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

/** Whether the text has the shape of an IP address literal (it may still be an invalid one). */
export function looksLikeIpAddress(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

// Octets with leading zeros are rejected: current JDKs refuse such "ambiguous" literals by default
// (jdk.net.allowAmbiguousIPAddressLiterals=false), so event-ruler on a current JVM does too.
function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= CHAR_0 && code <= CHAR_9) {
      if (leadingZero) return undefined;
      if (digits === 0 && code === CHAR_0) leadingZero = true;
      octet = octet * DECIMAL_RADIX + (code - CHAR_0);
      digits++;
      if (octet > OCTET_MAX) return undefined;
    } else if (code === CHAR_DOT) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * OCTET_RADIX + octet;
      octet = 0;
      digits = 0;
      leadingZero = false;
      dots++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * OCTET_RADIX + octet;
}

function parseIpv6Groups(text: string): number[] | undefined {
  if (text === "") return [];
  const groups: number[] = [];
  for (const group of text.split(":")) {
    if (group.length === 0 || group.length > IPV6_GROUP_MAX_DIGITS || !/^[0-9a-fA-F]+$/.test(group)) {
      return undefined;
    }
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseIpv6Groups(halves[0] ?? "");
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const written = head.length + tail.length;
  // "::" stands for at least one zero group; without it all eight groups must be written.
  if (halves.length === 2 ? written > IPV6_GROUPS - 1 : written !== IPV6_GROUPS) return undefined;
  const groups = [...head, ...new Array<number>(IPV6_GROUPS - written).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/**
 * Parses an IPv4 or IPv6 address literal; `undefined` when the text is not one.
 *
 * @example
 * parseIpAddress("10.0.0.1"); // 167772161
 * parseIpAddress("::1"); // 1n
 * parseIpAddress("::ffff:a00:1"); // 167772161 (IPv4-mapped, read as IPv4)
 */
export function parseIpAddress(text: string): IpAddressValue | undefined {
  if (text.includes(":")) {
    if (!IPV6_SHAPE.test(text)) return undefined;
    const value = parseIpv6(text);
    if (value === undefined) return undefined;
    // java.net.InetAddress returns an Inet4Address for IPv4-mapped addresses, so event-ruler does too.
    return value >> 32n === IPV4_MAPPED_PREFIX ? Number(value & IPV4_MASK) : value;
  }
  return parseIpv4(text);
}

/**
 * Parses CIDR notation into the inclusive range it covers, throwing {@link CidrSyntaxError} when malformed.
 * Like event-ruler, the mask must be below the address width (`/32` and `/128` are rejected).
 *
 * @example
 * parseCidr("10.0.0.0/24"); // { lo: 167772160, hi: 167772415 }
 */
export function parseCidr(text: string): IpRange {
  // Java's String.split drops trailing empty strings, so "10.0.0.0/" reads as having no mask at all.
  const parts = text.split("/");
  if (parts.length === 2 && parts[1] === "") parts.pop();
  const [address, maskText] = parts;
  if (parts.length !== 2 || address === undefined || maskText === undefined) {
    throw new CidrSyntaxError("Malformed CIDR, one '/' required");
  }
  if (!/^[+-]?[0-9]+$/.test(maskText))
    throw new CidrSyntaxError("Malformed CIDR, mask bits must be an integer");
  const maskBits = Number.parseInt(maskText, DECIMAL_RADIX);
  if (maskBits < 0) throw new CidrSyntaxError("Malformed CIDR, mask bits must not be negative");
  if (!looksLikeIpAddress(address)) throw new CidrSyntaxError(`Nonstandard IP address: ${address}`);
  const ip = parseIpAddress(address);
  if (ip === undefined) throw new CidrSyntaxError(`Invalid IP address: ${address}`);
  if (typeof ip === "number") {
    if (maskBits >= IPV4_BITS) throw new CidrSyntaxError("IPv4 mask bits must be < 32");
    const size = 2 ** (IPV4_BITS - maskBits);
    const lo = Math.floor(ip / size) * size;
    return { lo, hi: lo + size - 1 };
  }
  if (maskBits >= IPV6_BITS) throw new CidrSyntaxError("IPv6 mask bits must be < 128");
  const hostBits = BigInt(IPV6_BITS - maskBits);
  const lo = (ip >> hostBits) << hostBits;
  return { lo, hi: lo + (1n << hostBits) - 1n };
}

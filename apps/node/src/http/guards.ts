/**
 * The checks a request passes before any route runs: its `Host` is one of the node's names (no DNS
 * rebinding) and its `Origin`, when it has one, is allowed (no cross-site requests).
 */

/** A `Host` header split into a lower-case name (IPv6 in brackets) and its port, if any. */
export function parseHostHeader(value: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (match === null) return undefined;
  const name = match[1]!.toLowerCase().replace(/\.$/, '');
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (name === '' || (port !== undefined && port > 65_535)) return undefined;
  return { name, port };
}

const wildcardHosts = new Set(['0.0.0.0', '::', '[::]', '']);

export interface HostPolicyInit {
  /** The address the server is bound to (a wildcard adds no name). */
  readonly boundHost: string;
  readonly boundPort: number;
  /** The scheme's default port: a `Host` without a port means this one. */
  readonly defaultPort: number;
  /** Configured names: `name` (any port) or `name:port`. */
  readonly allowedHosts: readonly string[];
}

/** Which `Host` values the node answers to. */
export class HostPolicy {
  readonly #ownNames = new Set(['localhost', '127.0.0.1', '[::1]']);
  readonly #anyPort = new Set<string>();
  readonly #exact = new Set<string>();
  readonly #boundPort: number;
  readonly #defaultPort: number;

  constructor(init: HostPolicyInit) {
    this.#boundPort = init.boundPort;
    this.#defaultPort = init.defaultPort;
    const bound = init.boundHost.toLowerCase();
    if (!wildcardHosts.has(bound))
      this.#ownNames.add(bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound);
    for (const entry of init.allowedHosts) {
      const parsed = parseHostHeader(entry);
      if (parsed === undefined) continue;
      if (parsed.port === undefined) this.#anyPort.add(parsed.name);
      else this.#exact.add(`${parsed.name}:${parsed.port}`);
    }
  }

  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return false;
    const parsed = parseHostHeader(hostHeader);
    if (parsed === undefined) return false;
    const port = parsed.port ?? this.#defaultPort;
    if (this.#anyPort.has(parsed.name) || this.#exact.has(`${parsed.name}:${port}`)) return true;
    return this.#ownNames.has(parsed.name) && port === this.#boundPort;
  }
}
